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
  return `cannot create data folders on ${host}; create them on the host (owned by the node uid) or use an ssh:// host`;
}
