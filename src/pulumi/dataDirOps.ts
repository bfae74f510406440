import { spawnSync } from "node:child_process";
import type { ResourceOps } from "./providerTypes";
import { dataDirCommand, dataDirScript } from "../plan/dataDir";

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
  /** For messages: the stack file whose cybernode:dataRoot and cybernode:uid these come from. */
  stackFile?: string;
}

async function ensureDir(i: DataDirInputs): Promise<void> {
  const how = dataDirCommand(i.host, dataDirScript(i.path, i.uid, i.selinux, i.secretFiles ?? []));
  if (typeof how === "string") throw new Error(`data folder ${i.path}: ${how}`);
  const r = spawnSync(how.cmd, how.args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) {
    const where = i.stackFile ? `${i.stackFile}: cybernode:dataRoot / cybernode:uid: ` : "";
    throw new Error(
      `${where}data folder ${i.path} on ${i.host || "this machine"} for uid ${i.uid}: ${(r.stderr || String(r.error ?? "")).trim()}. ` +
        `Make it yourself, owned by uid ${i.uid} (sudo install -d -o ${i.uid} -g ${i.uid} ${i.path}), or choose another data root. The node was not started.`,
    );
  }
}

export const dataDirProvider: ResourceOps = {
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
