import { randomBytes } from "node:crypto";
import { writeTar } from "../archive/tarWriter";
import { runDocker } from "../docker/cli";
import { fillTemplate } from "../common/dataDir";
import {
  type SharedSecretInputs,
  type SharedSecretOutputs,
  sharedSecretDiff,
  sharedSecretEntries,
  tarFileStamp,
} from "../common/sharedSecret";
import { random, relabel, withHostMount } from "./dataDirOps";
import type { ResourceOps } from "./types";
import { UNKNOWN } from "./storedInputs";

/**
 * The SharedSecret resource (plan/sharedSecret.ts): made through the host's engine like a data folder, so
 * the value is drawn here, sent to the engine and never stored: state holds the file's stamp (to see a
 * deleted or replaced file) and a generation, a random id drawn at each create and update, which the
 * nodes' containers carry: a new secret, even within the second, restarts them.
 * Deleting the file on the host makes a new one at the next `up`; delete() keeps it (the nodes' data
 * outlives the stack, and so do the secrets they were made with).
 */

/** What the resource does to the host, passed in so that a fake drives every branch in unit tests. */
export interface SharedSecretHost {
  /** The file's stamp on the host, null when it is not there. Throws when the engine cannot be asked. */
  stamp(i: SharedSecretInputs, image: string): Promise<string | null>;
  /** Writes a fresh value (folder 0700, file 0600, owned by the uid) and returns the new file's stamp. */
  write(i: SharedSecretInputs, image: string): Promise<string>;
  /** A new generation id. */
  generation(): string;
}

/** The engine's side: a short-lived container of the node's run image mounts the folder; `docker cp` reads and writes it. */
export const engineSharedSecretHost: SharedSecretHost = {
  stamp: (i, image) =>
    withHostMount(i.host, image, i.dir, async (container, below) => {
      const r = await runDocker(["cp", `${container}:/cyberroot/${below}/${i.file}`, "-"], { timeoutMs: 60_000 });
      return r.exitCode === 0 ? tarFileStamp(r.stdoutBytes ?? Buffer.alloc(0)) : null;
    }),
  async write(i, image) {
    const stamp = await withHostMount(i.host, image, i.dir, async (container, below) => {
      const archive = writeTar(sharedSecretEntries(below, i.uid, i.file, fillTemplate(i.template, random)), new Date());
      const copied = await runDocker(["cp", "-", `${container}:/cyberroot`], { input: archive, timeoutMs: 120_000 });
      if (copied.exitCode !== 0) throw new Error(copied.stderr.trim());
      const r = await runDocker(["cp", `${container}:/cyberroot/${below}/${i.file}`, "-"], { timeoutMs: 60_000 });
      return r.exitCode === 0 ? tarFileStamp(r.stdoutBytes ?? Buffer.alloc(0)) : null;
    });
    if (!stamp) throw new Error("the file is not there after writing it");
    if (i.selinux) relabel({ host: i.host, path: i.dir });
    return stamp;
  },
  generation: () => randomBytes(8).toString("hex"),
};

/** The run image to mount with: the new one when known (not during a preview that rebuilds it), else the old. */
const imageFor = (news: SharedSecretInputs, olds?: SharedSecretOutputs) =>
  news.image && news.image !== UNKNOWN ? news.image : olds?.image && olds.image !== UNKNOWN ? olds.image : undefined;

export function sharedSecretOps(host: SharedSecretHost): ResourceOps {
  async function make(i: SharedSecretInputs, image: string | undefined): Promise<string> {
    const where = `${i.stackFile ?? "stack file"}: cybernode:sharedSecrets.${i.name ?? i.file}`;
    if (!image) throw new Error(`${where}: no image to make ${i.dir} with (the program passes a node's run image)`);
    try {
      return await host.write(i, image);
    } catch (e) {
      throw new Error(
        `${where}: cannot make ${i.dir}/${i.file} on ${i.host || "this machine"} for uid ${i.uid}: ${(e as Error).message}. ` +
          "Check cybernode:dataRoot and cybernode:uid; no node was started with it.",
      );
    }
  }
  return {
    async diff(_id: string, olds: SharedSecretOutputs, news: SharedSecretInputs) {
      const image = imageFor(news, olds);
      let onHost: string | null | "unknown" = "unknown";
      if (image)
        try {
          onHost = await host.stamp(olds, image);
        } catch {
          // The engine or the image is not there: nothing to conclude; up reports what fails.
        }
      return { ...sharedSecretDiff(olds, news, onHost), deleteBeforeReplace: false };
    },
    async create(inputs: SharedSecretInputs) {
      const stamp = await make(inputs, imageFor(inputs));
      return { id: `${inputs.host}#${inputs.dir}/${inputs.file}`, outs: { ...inputs, stamp, generation: host.generation() } };
    },
    async update(_id: string, olds: SharedSecretOutputs, news: SharedSecretInputs) {
      // Inputs that change the file replace it; an update means the file was replaced by hand: keep it,
      // note its stamp (or make it, if it went in between), and give the nodes a new generation.
      const image = imageFor(news, olds);
      const stamp = image ? await host.stamp(news, image).catch(() => null) : null;
      return { outs: { ...news, stamp: stamp ?? (await make(news, image)), generation: host.generation() } };
    },
    async read(id: string, props: SharedSecretOutputs) {
      // Gone: refresh drops it and the next up makes it. A changed file keeps its old stamp here, so that
      // the next diff sees the change and the update gives the nodes a new generation.
      const image = imageFor(props);
      const stamp = image ? await host.stamp(props, image).catch(() => "unknown" as const) : "unknown";
      return stamp === null ? {} : { id, props };
    },
    async delete() {
      // Kept, like the data folders: a stack that comes back finds the nodes' secret where they left it.
    },
  };
}

export const sharedSecretProvider = sharedSecretOps(engineSharedSecretHost);
