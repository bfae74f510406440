// Certificates, keys, the token and the kubeconfig, all in WORKDIR:
// - the service-account signing key pair;
// - a small CA whose client certificate the apiserver shows the kubelet (kubelet x509 authentication;
//   authorization by the apiserver, i.e. AlwaysAllow); the apiserver makes its own self-signed serving
//   certificate in pki/apiserver (also the controller-manager's --root-ca-file);
// - one bearer token for everyone (kubectl, the components, the kubelet).
import { randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "./settings";
import { $ } from "./shell";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** openssl command lines run in WORKDIR/pki, in two independent chains (service-account key; CA and kubelet client). */
export function opensslChains(): string[][][] {
  const serviceAccount = [
    ["openssl", "genrsa", "-out", "sa.key", "2048"],
    ["openssl", "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
  ];
  const ca = ["-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=cybernode-k8s-ca"];
  const caExt = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
  const csr = [
    "-keyout",
    "kubelet-client.key",
    "-out",
    "kubelet-client.csr",
    "-subj",
    "/O=system:masters/CN=kube-apiserver-kubelet-client",
  ];
  const sign = ["-in", "kubelet-client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650"];
  const kubeletClient = [
    ["openssl", "req", "-x509", ...EC, ...ca, ...caExt],
    ["openssl", "req", ...EC, ...csr],
    ["openssl", "x509", "-req", ...sign, "-extfile", "client.ext", "-out", "kubelet-client.crt"],
  ];
  return [serviceAccount, kubeletClient];
}

/** The extensions of the kubelet client certificate (pki/client.ext). */
export const CLIENT_EXT = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

/** The apiserver's --token-auth-file: token,user,uid,groups. */
export function tokensCsv(token: string): string {
  return `${token},cybernode-admin,cybernode-admin,system:masters\n`;
}

/** Files in pki/ that only root may read. */
export const SECRET_FILES = ["ca.key", "kubelet-client.key", "sa.key", "token", "tokens.csv"];

/** Makes pki/ and returns the bearer token. */
export async function makePki(c: Cluster): Promise<string> {
  writeFileSync(join(c.pki, "client.ext"), CLIENT_EXT);
  const inPki = $({ cwd: c.pki });
  await Promise.all(
    opensslChains().map(async (chain) => {
      for (const argv of chain) await inPki`${argv}`;
    }),
  );
  const token = randomBytes(32).toString("hex");
  writeFileSync(join(c.pki, "token"), `${token}\n`);
  writeFileSync(join(c.pki, "tokens.csv"), tokensCsv(token));
  for (const f of SECRET_FILES) chmodSync(join(c.pki, f), 0o600);
  return token;
}

/** WORKDIR/kubeconfig: bearer token, insecure-skip-tls-verify (the apiserver's certificate is self-signed). */
export function kubeconfigYaml(apiUrl: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: cybernode-k8s
    cluster:
      server: ${apiUrl}
      insecure-skip-tls-verify: true
users:
  - name: cybernode-admin
    user:
      token: ${token}
contexts:
  - name: cybernode-k8s
    context:
      cluster: cybernode-k8s
      user: cybernode-admin
      namespace: default
current-context: cybernode-k8s
`;
}

export function writeKubeconfig(c: Cluster, token: string): void {
  writeFileSync(c.kubeconfig, kubeconfigYaml(c.apiUrl, token), { mode: 0o600 });
  chmodSync(c.kubeconfig, 0o600);
}
