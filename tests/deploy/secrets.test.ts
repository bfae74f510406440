import test from "ava";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/host";
import { Checkout, containersLabelled, cyberUid, deployTest, requireDeploy, SKIP_DEPLOY, until } from "../helpers/deploy";

// A node arg that carries a secret (${secret:key}, set with pulumi config set --secret): the node gets
// the value; the stack file, the state file and every preview and update output do not.

requireDeploy();

const PASSPHRASE = "deploy-test-passphrase";
const SECRET = `s3cr3t-${Math.random().toString(36).slice(2)}-value`;
let co: Checkout;
let port = 0;
const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-deploy-secrets-"));

test.before(async () => {
  if (SKIP_DEPLOY) return;
  co = await Checkout.installed({ PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });
  co.addFixtureImage("fixs");
  port = await freePort();
  await co.newStack("secrets", {
    uid: String(cyberUid()),
    dataRoot,
    imagesDirs: ["deploy-images"],
    nodes: { "sec-node": { image: "fullnode/fixs", args: ["--rpcpass=${secret:fixPass}"], ports: [`127.0.0.1:${port}:18545`] } },
  });
  await co.mustPulumi(["config", "set", "--stack", "secrets", "--secret", "cybernode:fixPass", SECRET]);
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  if (containersLabelled("cybernode.stack=secrets").length) await co.pulumi(["destroy", "--stack", "secrets", "--yes"]);
  co.remove();
  rmSync(dataRoot, { recursive: true, force: true });
});

/** getinfo on the node's RPC port, with this password (or none): the HTTP status. */
function getinfo(pass?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", ...(pass ? { auth: `cybernode:${pass}` } : {}), timeout: 5000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ jsonrpc: "1.0", id: 1, method: "getinfo", params: [] }));
  });
}

deployTest(
  "a ${secret:…} arg reaches the node, and is absent from the stack file, the state file and preview --diff and up output",
  async (t) => {
    t.false(co.read("stacks/Pulumi.secrets.yaml").includes(SECRET), "the stack file holds only the encrypted value");
    t.regex(co.read("stacks/Pulumi.secrets.yaml"), /cybernode:fixPass:\s+secure: v1:/);
    const pv = await co.mustPulumi(["preview", "--stack", "secrets", "--diff"]);
    t.false(pv.stdout.includes(SECRET) || pv.stderr.includes(SECRET), "preview --diff does not show it");
    t.regex(pv.stdout, /command\s*:\s*\[secret\]/, "the args show as [secret]");
    const up = await co.mustPulumi(["up", "--stack", "secrets", "--yes", "--diff"]);
    t.false(up.stdout.includes(SECRET) || up.stderr.includes(SECRET), "up --diff does not show it");
    t.false(co.stateText("secrets").includes(SECRET), "the state file holds only ciphertext");

    t.is(await until("the node's RPC", 30_000, () => getinfo(SECRET)), 200, "the node got the password from its args");
    t.is(await getinfo(), 401, "and refuses a call without it");
    t.is(await getinfo("wrong"), 401);
  },
);
