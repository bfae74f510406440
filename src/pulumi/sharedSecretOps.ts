import { writeTar } from "../archive/tarWriter";
import { runDocker } from "../docker/cli";
import { fillTemplate } from "../plan/dataDir";
import {
  type SharedSecretInputs,
  type SharedSecretOutputs,
  sharedSecretDiff,
  sharedSecretEntries,
  tarFileStamp,
} from "../plan/sharedSecret";
import { random, relabel, withHostMount } from "./dataDirOps";
import type { ResourceOps } from "./providerTypes";
import { UNKNOWN } from "./providerRuntime";
import { randomBytes } from "node:crypto";

const generation = () => randomBytes(8).toString("hex");

/**
 * The SharedSecret resource (plan/sharedSecret.ts): made through the host's engine like a data folder, so
 * the value is drawn here, sent to the engine and never stored: state holds the file's stamp (to see a
 * deleted or replaced file) and a generation, a random id drawn at each create and update, which the
 * nodes' containers carry: a new secret, even within the second, restarts them.
 * Deleting the file on the host makes a new one at the next `up`; delete() keeps it (the nodes' data
 * outlives the stack, and so do the secrets they were made with).
 */

/** The file's stamp on the host, null when it is not there. Throws when the engine cannot be asked. */
async function stampOnHost(i: SharedSecretInputs, image: string): Promise<string | null> {
  return withHostMount(i.host, image, i.dir, async (container, below) => {
    const r = await runDocker(["cp", `${container}:/cyberroot/${below}/${i.file}`, "-"], { timeoutMs: 60_000 });
    return r.exitCode === 0 ? tarFileStamp(r.stdoutBytes ?? Buffer.alloc(0)) : null;
  });
}

/** Writes a fresh value and returns the new file's stamp. */
async function make(i: SharedSecretInputs): Promise<string> {
  const where = `${i.stackFile ?? "stack file"}: cybernode:sharedSecrets.${i.name ?? i.file}`;
  if (!i.image || i.image === UNKNOWN) throw new Error(`${where}: no image to make ${i.dir} with (the program passes a node's run image)`);
  const image = i.image;
  try {
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
  } catch (e) {
    throw new Error(
      `${where}: cannot make ${i.dir}/${i.file} on ${i.host || "this machine"} for uid ${i.uid}: ${(e as Error).message}. ` +
        "Check cybernode:dataRoot and cybernode:uid; no node was started with it.",
    );
  }
}

export const sharedSecretProvider: ResourceOps = {
  async diff(_id: string, olds: SharedSecretOutputs, news: SharedSecretInputs) {
    const image = news.image && news.image !== UNKNOWN ? news.image : olds.image;
    let onHost: string | null | "unknown" = "unknown";
    if (image)
      try {
        onHost = await stampOnHost(olds, image);
      } catch {
        // The engine or the image is not there: nothing to conclude; up reports what fails.
      }
    return { ...sharedSecretDiff(olds, news, onHost), deleteBeforeReplace: false };
  },
  async create(inputs: SharedSecretInputs) {
    const stamp = await make(inputs);
    return { id: `${inputs.host}#${inputs.dir}/${inputs.file}`, outs: { ...inputs, stamp, generation: generation() } };
  },
  async update(_id: string, olds: SharedSecretOutputs, news: SharedSecretInputs) {
    // Inputs that change the file replace it; an update means the file was replaced by hand: keep it, note its stamp.
    const image = news.image && news.image !== UNKNOWN ? news.image : olds.image;
    const stamp = image ? await stampOnHost(news, image).catch(() => null) : null;
    return { outs: { ...news, stamp: stamp ?? (await make(news)), generation: generation() } };
  },
  async read(id: string, props: SharedSecretOutputs) {
    // Gone: refresh drops it and the next up makes it. A changed file keeps its old stamp here, so that the
    // next diff sees the change and the update gives the nodes a new generation.
    const stamp = props.image ? await stampOnHost(props, props.image).catch(() => "unknown" as const) : "unknown";
    return stamp === null ? {} : { id, props };
  },
  async delete() {
    // Kept, like the data folders: a stack that comes back finds the nodes' secret where they left it.
  },
};
