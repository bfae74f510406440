import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeTar } from "../archive/tarWriter";
import { onDockerHost, runDocker } from "../docker/cli";
import { withTemporary } from "../docker/temporaries";
import { dataDirCommand, dataDirEntries, fillTemplate, mountCandidates } from "../common/dataDir";
import { shellQuote } from "../common/shell";
import type { ResourceOps } from "./types";

/**
 * A node's data folder on the host (`<dataRoot>/<name>`), owned by the node's uid so the node can write it
 * (Docker would make a missing bind-mount source owned by root). The engine makes it, wherever the host
 * is: a short-lived container of the node's run image (never started) mounts the data root, and
 * `docker cp` extracts the folder and its missing secret files into it with their owner (a tar from stdin keeps its uid and gid; `-a` would give them the container's user instead). So the user
 * running Pulumi needs no root and no shell on the host, only the engine, as for everything else.
 * Never deleted by Pulumi: delete() leaves the folder and its chain data in place.
 */
export interface DataDirInputs {
  path: string;
  uid: number;
  /** Relabel for SELinux hosts (container_file_t), as the `:z` bind-mount option would. */
  selinux: boolean;
  /** The stack's Docker host URL: the engine that makes the folder. */
  host: string;
  /** Files made once inside it (name → template with ${random}); existing files are left alone. */
  secretFiles?: [string, string][];
  /** For messages: the stack file whose cybernode:dataRoot and cybernode:uid these come from. */
  stackFile?: string;
  /** An image the host has (the node's run image), for the short-lived container. Not part of the diff. */
  image?: string;
}

/** A ${random}: 32 bytes from this machine's CSPRNG as 64 hex digits; sent to the host's engine only. */
export const random = () => randomBytes(32).toString("hex");

/**
 * Runs `work` with a short-lived container of `image` (never started) on the host's engine that mounts
 * the host folder holding `path`; `below` is where `path` is under the mount (/cyberroot).
 */
export async function withHostMount<T>(
  host: string,
  image: string,
  path: string,
  work: (container: string, below: string) => Promise<T>,
): Promise<T> {
  const slash = path.lastIndexOf("/");
  const [root, leaf] = [path.slice(0, slash) || "/", path.slice(slash + 1)];
  return onDockerHost(host, () =>
    withTemporary("datadir", async (t) => {
      let below = "";
      for (const m of mountCandidates(root, leaf)) {
        const made = await runDocker(["create", ...t.createArgs, "-v", `${m.source}:/cyberroot`, image], { timeoutMs: 120_000 });
        if (made.exitCode === 0) {
          below = m.below;
          break;
        }
        // Podman refuses a bind-mount source that does not exist: mount its parent instead.
        if (!/no such file or directory/i.test(made.stderr) || m.source === "/") throw new Error(made.stderr.trim());
      }
      return work(t.name, below);
    }),
  );
}

async function makeThroughEngine(i: DataDirInputs & { image: string }): Promise<void> {
  await withHostMount(i.host, i.image, i.path, async (container, below) => {
    const missing: [string, string][] = [];
    for (const [name, template] of i.secretFiles ?? []) {
      const there = await runDocker(["cp", `${container}:/cyberroot/${below}/${name}`, "-"], { timeoutMs: 60_000 });
      if (there.exitCode !== 0) missing.push([name, fillTemplate(template, random)]);
    }
    const archive = writeTar(dataDirEntries(below, i.uid, missing), new Date(0));
    const copied = await runDocker(["cp", "-", `${container}:/cyberroot`], { input: archive, timeoutMs: 120_000 });
    if (copied.exitCode !== 0) throw new Error(copied.stderr.trim());
  });
}

/** chcon on the host (sh here, ssh for ssh:// hosts): the engine's API cannot relabel a folder it only writes. */
export function relabel(i: { host: string; path: string }): void {
  const how = dataDirCommand(i.host, `chcon -R -t container_file_t -- ${shellQuote(i.path)}`);
  if (typeof how === "string") throw new Error(how);
  const r = spawnSync(how.cmd, how.args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`chcon: ${(r.stderr || String(r.error ?? "")).trim()}`);
}

/** Makes the folder through the host's engine, then relabels it where SELinux asks for that. */
async function makeOnHost(i: DataDirInputs & { image: string }): Promise<void> {
  await makeThroughEngine(i);
  if (i.selinux) relabel(i);
}

/** The engine's error, with where its values come from and what to do by hand. */
function dataDirError(i: DataDirInputs, e: unknown): Error {
  const where = i.stackFile ? `${i.stackFile}: cybernode:dataRoot / cybernode:uid: ` : "";
  return new Error(
    `${where}data folder ${i.path} on ${i.host || "this machine"} for uid ${i.uid}: ${(e as Error).message}. ` +
      `Make it on the host, owned by uid ${i.uid} (sudo install -d -o ${i.uid} -g ${i.uid} ${i.path}), or choose another data root. The node was not started.`,
  );
}

/** What DataDir's diff reacts to: path or host replace the folder's record; uid, relabel and secret files update it. Pure. */
export function dataDirDiff(olds: DataDirInputs, news: DataDirInputs) {
  const replaces = olds.path !== news.path || olds.host !== news.host ? ["path"] : [];
  const files = (x: DataDirInputs) => JSON.stringify(x.secretFiles ?? []);
  const changes = replaces.length > 0 || olds.uid !== news.uid || olds.selinux !== news.selinux || files(olds) !== files(news);
  return { changes, replaces, deleteBeforeReplace: false };
}

/** The DataDir resource over `make`, which makes the folder on the host (makeOnHost in the plugin; a fake in tests). */
export function dataDirOps(make: (i: DataDirInputs & { image: string }) => Promise<void>): ResourceOps {
  const ensure = async (i: DataDirInputs) => {
    if (!i.image) throw new Error(`data folder ${i.path}: no image to make it with (the program passes the node's run image)`);
    try {
      await make({ ...i, image: i.image });
    } catch (e) {
      throw dataDirError(i, e);
    }
  };
  return {
    diff: async (_id: string, olds: DataDirInputs, news: DataDirInputs) => dataDirDiff(olds, news),
    async create(inputs: DataDirInputs) {
      await ensure(inputs);
      return { id: `${inputs.host}#${inputs.path}`, outs: inputs };
    },
    async update(_id: string, _olds: DataDirInputs, news: DataDirInputs) {
      await ensure(news);
      return { outs: news };
    },
    async delete() {
      // Intentionally nothing: chain data survives `pulumi destroy` and container replacement.
    },
  };
}

export const dataDirProvider = dataDirOps(makeOnHost);
