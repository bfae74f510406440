import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "../plan/shell";

/**
 * A node's data folder on the host (`<dataRoot>/<name>`), created owned by the run uid so the node can
 * write it (Docker would create a missing bind-mount source owned by root). On the local machine it
 * runs a small shell script; on ssh:// hosts the same script goes through ssh, as the docker CLI does.
 * Never deleted by Pulumi: delete() leaves the folder and its chain data in place.
 */
export interface DataDirInputs {
  path: string;
  uid: number;
  /** Relabel for SELinux hosts (container_file_t), as the `:z` bind-mount option would. */
  selinux: boolean;
  /** The stack's Docker host URL; decides where the folder is made. */
  host: string;
  /** Files made once inside it (name → template with ${random}); existing files are left alone. */
  secretFiles?: [string, string][];
}

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

async function ensureDir(i: DataDirInputs): Promise<void> {
  const cp = require("node:child_process") as typeof import("node:child_process");
  const how = dataDirCommand(i.host, dataDirScript(i.path, i.uid, i.selinux, i.secretFiles ?? []));
  if (typeof how === "string") throw new Error(`data folder ${i.path}: ${how}`);
  const r = cp.spawnSync(how.cmd, how.args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(
      `data folder ${i.path} on ${i.host || "this machine"}: ${(r.stderr || String(r.error ?? "")).trim()}. Check that the user may create it (or create it owned by uid ${i.uid}).`,
    );
  }
}

export const dataDirProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: DataDirInputs, news: DataDirInputs) {
    const replaces = olds.path !== news.path || olds.host !== news.host ? ["path"] : [];
    const files = (x: DataDirInputs) => JSON.stringify(x.secretFiles ?? []);
    const changes = replaces.length > 0 || olds.uid !== news.uid || olds.selinux !== news.selinux || files(olds) !== files(news);
    return { changes, replaces, deleteBeforeReplace: false };
  },
  async create(inputs: DataDirInputs) {
    await ensureDir(inputs);
    return { id: `${inputs.host}#${inputs.path}`, outs: inputs };
  },
  async update(_id: string, _olds: DataDirInputs, news: DataDirInputs) {
    await ensureDir(news);
    return { outs: news };
  },
  async delete() {
    // Intentionally nothing: chain data survives `pulumi destroy` and container replacement.
  },
};

export class DataDir extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: { [K in keyof DataDirInputs]: pulumi.Input<DataDirInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
    super(dataDirProvider, name, args, { ...opts, retainOnDelete: true }, "cybernode", "DataDir");
  }
}
