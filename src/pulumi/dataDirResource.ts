import * as pulumi from "@pulumi/pulumi";

/**
 * A node's data folder on the host (`<dataRoot>/<name>`), created owned by the run uid so the node can
 * write it (Docker would create a missing bind-mount source owned by root). Never deleted by Pulumi:
 * delete() leaves the folder and its chain data in place; removing data is the user's explicit act.
 */
export interface DataDirInputs {
  path: string;
  uid: number;
  /** Relabel for SELinux hosts (container_file_t), as the `:z` bind-mount option would. */
  selinux: boolean;
  /** True when the stack's Docker host is this machine; remote folders are not created yet (see README). */
  local: boolean;
}

export const dataDirProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: DataDirInputs, news: DataDirInputs) {
    const replaces = olds.path !== news.path ? ["path"] : [];
    return { changes: replaces.length > 0 || olds.uid !== news.uid || olds.selinux !== news.selinux, replaces, deleteBeforeReplace: false };
  },
  async create(inputs: DataDirInputs) {
    await ensureDir(inputs);
    return { id: inputs.path, outs: inputs };
  },
  async update(_id: string, _olds: DataDirInputs, news: DataDirInputs) {
    await ensureDir(news);
    return { outs: news };
  },
  async delete() {
    // Intentionally nothing: chain data survives `pulumi destroy` and container replacement.
  },
};

async function ensureDir(i: DataDirInputs): Promise<void> {
  if (!i.local) return;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fs = require("node:fs") as typeof import("node:fs");
  const cp = require("node:child_process") as typeof import("node:child_process");
  /* eslint-enable @typescript-eslint/no-require-imports */
  fs.mkdirSync(i.path, { recursive: true });
  const st = fs.statSync(i.path);
  if (st.uid !== i.uid || st.gid !== i.uid) fs.chownSync(i.path, i.uid, i.uid);
  if (i.selinux) {
    const r = cp.spawnSync("chcon", ["-R", "-t", "container_file_t", i.path], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`chcon on ${i.path} failed: ${r.stderr || r.error}`);
  }
}

export class DataDir extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: { [K in keyof DataDirInputs]: pulumi.Input<DataDirInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
    super(dataDirProvider, name, args, { ...opts, retainOnDelete: true }, "cybernode", "DataDir");
  }
}
