import { join } from "node:path";
import { PromotionMismatchError } from "../builder/assemble";
import { passedEnv } from "../builder/planner";
import { sha256 } from "../common/hash";
import { destinationFor, runHostOf } from "../publish/publisher";
import { binariesDigest, COMMON, changedKeys, planHash, stored, UNKNOWN } from "./storedInputs";
import type {
  BinariesInputs,
  BinariesOutputs,
  BuildImageInputs,
  BuildImageOutputs,
  CheckFailure,
  DiffResult,
  PhaseInputs,
  ResourceOps,
  RunImageInputs,
  RunImageOutputs,
} from "./types";
import type { World } from "./world";

/**
 * The decisions of the builder's three phases as Pulumi resources (BuildImage, Binaries, RunImage):
 * what a diff reacts to, what state stores, when a preview refuses a promotion. Every question to
 * Docker, containerd or bin/ goes through the World passed in (engineWorld.ts in the plugin).
 */

/** What each image resource's diff reacts to before it looks at the world: its inputs, as the README lists them. */
export const DIFF_KEYS = {
  build: [...COMMON, "buildHash"] as (keyof BuildImageInputs)[],
  bin: [...COMMON, "buildKey", "extraction"] as (keyof BinariesInputs)[],
  run: [...COMMON, "runHash", "binariesDigest", "targetHost", "promotedImageId", "registry"] as (keyof RunImageInputs)[],
};

const NAME = /^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/;

function checkPhase(news: PhaseInputs): CheckFailure[] {
  const failures: CheckFailure[] = [];
  if (!NAME.test(String(news.image))) failures.push({ property: "image", reason: `'${news.image}' is not group/name` });
  if (!String(news.projectDir).startsWith("/")) failures.push({ property: "projectDir", reason: "must be an absolute folder" });
  return failures;
}

const unchanged = (stables: string[]): DiffResult => ({ changes: false, replaces: [], stables });
const changed: DiffResult = { changes: true, replaces: [], stables: [] };

/**
 * Whether the build key a BuildImage stored still holds, answered without loading the spec: the caller
 * has checked that buildHash, the base mapping and buildEnv are unchanged, so what is left is the base
 * image's ID and the host's passed-through values. null when the state predates the fields this needs,
 * or the base image is gone (the full plan then says what to do).
 */
export async function storedPlanHolds(world: World, olds: BuildImageOutputs, news: BuildImageInputs): Promise<boolean | null> {
  if (!olds.baseRef || !olds.passEnvNames || !olds.planHash) return null;
  const env = { ...world.env, ...(news.buildEnv ?? {}) };
  if (planHash(passedEnv(olds.passEnvNames, env)) !== olds.planHash) return false;
  const current = await world.baseImageIdOf(olds.baseRef, news.buildHost);
  return current === null ? null : current === olds.baseImageId;
}

/** Whether a Docker host has an image (tag or ID); an empty reference is no image. */
async function hasImage(world: World, ref: string, host: string): Promise<boolean> {
  return ref !== "" && (await world.imageIdOf(ref, host)) !== null;
}

/**
 * Whether the run image is where its nodes need it: on the Docker host the containers run on (with a
 * registry: the build host, which pushes it), or, for a Kubernetes node's containerd, imported there.
 */
export async function runImageInPlace(
  world: World,
  i: Pick<RunImageInputs, "registry" | "targetHost" | "buildHost">,
  o: { imageId: string; pullRef: string },
): Promise<boolean> {
  const d = destinationFor(i);
  if (d.kind === "containerd") {
    return o.pullRef !== "" && (await world.containerdHas(d.socket, o.pullRef)) && (await hasImage(world, o.imageId, i.buildHost));
  }
  return hasImage(world, o.imageId, runHostOf(d, i.buildHost));
}

async function diffBuild(world: World, olds: BuildImageOutputs, news: BuildImageInputs, urn?: string): Promise<DiffResult> {
  if (changedKeys<BuildImageInputs>(olds, news, DIFF_KEYS.build).length) return changed;
  // Same spec.build, inputs, mapping and buildEnv: no spec needs loading while the stored key holds.
  const holds = await storedPlanHolds(world, olds, news);
  if (holds !== null)
    return holds && (await hasImage(world, olds.buildTag, news.buildHost)) ? unchanged(["buildKey", "buildTag"]) : changed;
  // The plan is the diff: the step keys cover the base image ID and the passed-through values, so a
  // re-pulled base or a new GOPROXY shows here. A step image removed by `cybernode clean` too.
  const plan = await world.planBuild(news, urn);
  if (!plan) return changed;
  return plan.buildKey === olds.buildKey && (await hasImage(world, plan.buildTag, news.buildHost))
    ? unchanged(["buildKey", "buildTag"])
    : changed;
}

/**
 * Promotion at preview: when bin/ is current for the planned build, the run image ID is known before
 * anything runs, so a promotion that `up` would refuse fails the preview with the same message. When a
 * rebuild is needed first, the ID is not known and `up` decides (nothing is loaded on a mismatch).
 */
async function checkPromotion(world: World, i: RunImageInputs, urn?: string): Promise<CheckFailure[]> {
  if (!i.promotedImageId || i.promotedImageId === UNKNOWN) return [];
  const plan = await world.planBuild(i, urn);
  if (!plan) return [];
  const manifest = world.currentManifest(plan.binDir, plan.buildKey, plan.extraction);
  if (!manifest) {
    await world.tell(
      urn,
      `image ${i.image}: promotion from ${i.promotedFrom} is checked at pulumi up: bin/ is not current for the planned build, so the run image ID is known only after the build (nothing is loaded if it differs from ${i.promotedImageId.slice(0, 19)}…)`,
    );
    return [];
  }
  const predicted = await plan.predictRunImageId(manifest);
  if (predicted === i.promotedImageId) return [];
  const reason = new PromotionMismatchError(i.image, i.promotedFrom, i.promotedImageId, predicted).message;
  return [{ property: "promotedImageId", reason }];
}

async function build(world: World, i: BuildImageInputs, urn?: string): Promise<BuildImageOutputs> {
  const r = await world.build(i, urn);
  // State keeps a hash over the values passed through, never the values (buildEnv may hold secrets).
  const env = { ...world.env, ...(i.buildEnv ?? {}) };
  return { ...stored(i), ...r, planHash: planHash(passedEnv(r.passEnvNames, env)) };
}

async function extract(world: World, i: BinariesInputs, urn?: string): Promise<BinariesOutputs> {
  const { buildKey, manifest } = await world.extract(i, urn);
  const files = manifest.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
  return { ...stored(i), buildKey, version: manifest.version, files, digest: binariesDigest(files, manifest.version, sha256) };
}

async function assemble(world: World, i: RunImageInputs, urn?: string): Promise<RunImageOutputs> {
  return { ...stored(i), ...(await world.assemble(i, urn)), present: true };
}

/** BuildImage, Binaries and RunImage over one World. */
export function imageOps(world: World): { buildImage: ResourceOps; binaries: ResourceOps; runImage: ResourceOps } {
  const buildImage: ResourceOps = {
    check: async (_olds, news: BuildImageInputs) => ({ failures: checkPhase(news) }),
    diff: (_id, olds: BuildImageOutputs, news: BuildImageInputs, urn) => diffBuild(world, olds, news, urn),
    create: async (i: BuildImageInputs, urn) => ({ id: `${i.image}@build`, outs: await build(world, i, urn) }),
    update: async (_id, _olds, news: BuildImageInputs, urn) => ({ outs: await build(world, news, urn) }),
    // Step images are a cache; `npx cybernode clean` removes them.
    delete: async () => {},
  };
  const binaries: ResourceOps = {
    check: async (_olds, news: BinariesInputs) => ({ failures: checkPhase(news) }),
    async diff(_id, olds: BinariesOutputs, news: BinariesInputs) {
      if (changedKeys<BinariesInputs>(olds, news, DIFF_KEYS.bin).length) return changed;
      // bin/ deleted, edited or extracted by another build since: extract again (from the cached build image).
      const current = world.currentManifest(join(news.imagesRoot, news.image, "bin"), olds.buildKey, news.extraction);
      return current ? unchanged(["digest", "version", "files"]) : changed;
    },
    create: async (i: BinariesInputs, urn) => ({ id: `${i.image}@bin`, outs: await extract(world, i, urn) }),
    update: async (_id, _olds, news: BinariesInputs, urn) => ({ outs: await extract(world, news, urn) }),
    // bin/ is a debugging copy inside the project; it stays.
    delete: async () => {},
  };
  const runImage: ResourceOps = {
    async check(_olds, news: RunImageInputs, urn) {
      const failures = checkPhase(news);
      return { failures: failures.length ? failures : await checkPromotion(world, news, urn) };
    },
    async diff(_id, olds: RunImageOutputs, news: RunImageInputs) {
      if (changedKeys<RunImageInputs>(olds, news, DIFF_KEYS.run).length) return changed;
      // Read the world back: an image pruned from the host (docker image prune -a) is loaded again.
      const present = olds.present !== false && (await runImageInPlace(world, news, olds));
      return present ? unchanged(["imageId", "version", "tags"]) : changed;
    },
    // `pulumi refresh`: record whether the image is still on its host; the next up reloads it if not.
    read: async (id, props: RunImageOutputs) => ({ id, props: { ...props, present: await runImageInPlace(world, props, props) } }),
    create: async (i: RunImageInputs, urn) => ({ id: `${i.image}@run`, outs: await assemble(world, i, urn) }),
    update: async (_id, _olds, news: RunImageInputs, urn) => ({ outs: await assemble(world, news, urn) }),
    // Run images stay on the host: a container may still use them.
    delete: async () => {},
  };
  return { buildImage, binaries, runImage };
}
