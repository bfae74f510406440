import type { TarEntry } from "../archive/tarWriter";
import { shellQuote } from "./shell";

/**
 * Where a node's data folder is made and how: the shell script (mkdir, owner, secret files made once,
 * SELinux label) and how to run it on the stack's host. Pure; used by the DataDir resource and by
 * `cybernode status` (which must not load Pulumi).
 */

/** Hex digits for one ${random}: 32 bytes, e.g. an Engine API JWT secret or an RPC password. */
const RANDOM_HEX = "od -An -N32 -tx1 /dev/urandom | tr -d ' \\n'";

/** The shell script that makes the folder. Pure; every value is quoted. */
export function dataDirScript(path: string, uid: number, selinux: boolean, secretFiles: [string, string][] = []): string {
  const p = shellQuote(path);
  return [
    "set -e",
    `mkdir -p -- ${p}`,
    `if [ "$(stat -c %u:%g -- ${p})" != "${uid}:${uid}" ]; then chown ${uid}:${uid} -- ${p}; fi`,
    ...secretFiles.map(([name, template]) => secretFileScript(`${path}/${name}`, template, uid)),
    ...(selinux ? [`chcon -R -t container_file_t -- ${p}`] : []),
  ].join("\n");
}

/**
 * Writes the file once, only when it is missing: the random value is made on the host and never leaves
 * it. Written to a temporary name and renamed, so a node never reads half a file. Pure.
 */
export function secretFileScript(file: string, template: string, uid: number): string {
  const f = shellQuote(file);
  const parts = template.split("${random}").map(shellQuote);
  const printfArgs = parts.flatMap((part, i) => (i === 0 ? [part] : ['"$r"', part])).join(" ");
  return (
    `if [ ! -e ${f} ]; then r=$(${RANDOM_HEX}); [ \${#r} -eq 64 ] || { echo "cannot read /dev/urandom" >&2; exit 1; }; ` +
    `(umask 077 && printf '%s' ${printfArgs} > ${f}.tmp) && chown ${uid}:${uid} ${f}.tmp && mv -f ${f}.tmp ${f}; fi`
  );
}

/** How to run the script for a host URL, or an error text when that host kind is not supported. Pure. */
export function dataDirCommand(host: string, script: string): { cmd: string; args: string[] } | string {
  if (host.startsWith("unix://") || host === "") return { cmd: "sh", args: ["-c", script] };
  const m = /^ssh:\/\/(?:([^@/]+)@)?([^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (m) {
    const target = m[1] ? `${m[1]}@${m[2]}` : m[2];
    return { cmd: "ssh", args: ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15", ...(m[3] ? ["-p", m[3]] : []), target, script] };
  }
  return `no shell on ${host}: only this machine and ssh:// hosts run commands (du, chcon) here; run them on the host`;
}

/**
 * Where the engine's short-lived container mounts the host, to make `<dataRoot>/<node>`: the data root
 * itself first (Docker makes a missing bind-mount source), then each parent (Podman refuses a missing
 * source), with the path below the mount that leads to the node's folder. Pure.
 */
export function mountCandidates(dataRoot: string, node: string): { source: string; below: string }[] {
  const parts = dataRoot.split("/").filter(Boolean);
  const out: { source: string; below: string }[] = [];
  for (let i = parts.length; i >= 0; i--)
    out.push({ source: `/${parts.slice(0, i).join("/")}`, below: [...parts.slice(i), node].join("/") });
  return out;
}

/** A secret file's text: each ${random} replaced by a fresh value from `random`. Pure but for `random`. */
export function fillTemplate(template: string, random: () => string): string {
  return template.split("${random}").reduce((acc, part, i) => (i === 0 ? part : acc + random() + part), "");
}

/**
 * The archive the engine extracts into the mount (`docker cp` of a tar from stdin: the entries' uid and gid are kept): the node's folder
 * owned by the uid (mode 0755; an existing folder is handed over, its contents untouched) and the
 * secret files that are missing (mode 0600). Missing parents are made by the engine as root, 0755. Pure.
 */
export function dataDirEntries(below: string, uid: number, files: [string, string][]): TarEntry[] {
  return [
    { type: "dir", path: below, mode: 0o755, uid, gid: uid },
    ...files.map(
      ([name, text]): TarEntry => ({ type: "file", path: `${below}/${name}`, mode: 0o600, uid, gid: uid, data: Buffer.from(text) }),
    ),
  ];
}
