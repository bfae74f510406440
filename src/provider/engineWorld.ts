import { join } from "node:path";
import { predictRunImage } from "../builder/assemble";
import { BaseImageMissing } from "../builder/baseImages";
import { assembleAndLoad, buildSteps, extractBinaries } from "../builder/builder";
import { binMatchesManifest, currentManifest, readManifest } from "../builder/manifest";
import { planBuild } from "../builder/planner";
import { withEngine } from "../docker/engine";
import { imageIdOf } from "../docker/imageId";
import { removeTemporariesOnSignals } from "../docker/interrupts";
import { inBackground } from "../docker/temporaries";
import { extractionHash } from "../builder/stepKeys";
import { containerdHas } from "../publish/containerd";
import { destinationFor, publisherFor } from "../publish/publisher";
import { loadSpec } from "../imageSpec/load";
import { phaseProgress, tell } from "./progress";
import type { BinManifest } from "../builder/manifest";
import type { PhaseInputs } from "./types";
import type { World } from "./world";

/**
 * The World of the provider plugin's process: Docker and containerd through the engine modules, bin/
 * on this machine's disk, messages to the engine's display. Its lookup caches live as long as the
 * World, which the plugin makes once per engine run (one preview or up).
 */

/**
 * Prepares a phase: loads the spec and the build options from the inputs. A phase that may build
 * (`phase` given) reports its lines as progress (progress.ts); checks and diffs stay quiet.
 */
function prepare(i: PhaseInputs, phase?: { name: string; urn?: string }) {
  const loaded = loadSpec(i.imagesRoot, i.image);
  const progress = phase ? phaseProgress({ projectDir: i.projectDir, image: i.image, phase: phase.name, urn: phase.urn }) : null;
  const opts = {
    baseMap: new Map(Object.entries(i.baseImages)),
    env: { ...process.env, ...(i.buildEnv ?? {}) },
    log: (l: string) => progress?.line(l),
  };
  return { loaded, opts, progress };
}

/**
 * Runs a phase with every docker call addressed to the build host ("" = this machine's default, even
 * when the process running Pulumi has DOCKER_HOST set: buildOn local means this machine). The plugin
 * process is an entry point: it owns what SIGINT/SIGTERM from the engine do (remove the temporaries).
 * With `phase`, progress goes to the engine's display and the image's log file, which errors name.
 */
export async function onBuildHost<T>(
  i: PhaseInputs,
  fn: (p: ReturnType<typeof prepare>) => Promise<T>,
  phase?: { name: string; urn?: string },
): Promise<T> {
  const p = prepare(i, phase);
  const engine = removeTemporariesOnSignals();
  try {
    return await withEngine({ ...engine, host: i.buildHost }, () => fn(p));
  } catch (e) {
    if (p.progress?.written && e instanceof Error) e.message += `\n  full log of this build: ${p.progress.logPath}`;
    throw e;
  } finally {
    await p.progress?.flush();
  }
}

/**
 * A plan in a preview, which pulls nothing: a base that is not on the build host (and that the build
 * would pull) is told in the preview's diagnostics, and null says the build will run.
 */
async function basePulledAtUp<T>(urn: string | undefined, plan: () => Promise<T>): Promise<T | null> {
  try {
    return await plan();
  } catch (e) {
    if (!(e instanceof BaseImageMissing)) throw e;
    await tell(urn, `${e.where}: ${e.field}: base image ${e.local} is not on the build host: pulumi up pulls it, then builds`);
    return null;
  }
}

/** A lookup asked once per key; a failed or empty answer is asked again next time. */
function memo<T>(ask: (key: string) => Promise<T | null>): (key: string) => Promise<T | null> {
  const seen = new Map<string, Promise<T | null>>();
  return async (key) => {
    let found = seen.get(key);
    if (!found) {
      found = ask(key);
      seen.set(key, found);
      found.catch(() => seen.delete(key));
    }
    const value = await found;
    if (value === null) seen.delete(key);
    return value;
  };
}

type ResolvedBases = Map<string, Promise<import("../builder/baseImages").ResolvedBase>>;

/** The build an image would run now, without pulling; previews share `bases` (one lookup per base). */
function planOnHost(i: PhaseInputs, urn: string | undefined, bases: ResolvedBases): ReturnType<World["planBuild"]> {
  return onBuildHost(i, async ({ loaded, opts }) => {
    const plan = await basePulledAtUp(urn, () => planBuild(loaded, { ...opts, resolvedBases: bases }));
    if (!plan) return null;
    const binDir = join(loaded.dir, "bin");
    const predict = (manifest: BinManifest) => predictRunImage({ spec: loaded.spec, binDir, manifest, baseMap: opts.baseMap });
    return {
      buildKey: plan.buildKey,
      buildTag: plan.buildTag,
      binDir,
      extraction: extractionHash(loaded.spec),
      predictRunImageId: async (manifest) => (await predict(manifest)).imageId,
    };
  });
}

const buildOnHost: World["build"] = (i, urn) =>
  onBuildHost(
    i,
    async ({ loaded, opts }) => {
      // When the steps run, bin/ is written from the build container's archives while its last step is
      // committed (Binaries then finds it current), and the container exits in the background.
      const r = await buildSteps(
        loaded,
        opts,
        async (container, last) => void (await extractBinaries(loaded, last, opts, container)),
        inBackground,
      );
      const { buildKey, buildTag, baseImageId, stepsRun, baseRef } = r;
      return { buildKey, buildTag, baseImageId, stepsRun, baseRef, passEnvNames: loaded.spec.build.passEnv };
    },
    { name: "build steps", urn },
  );

const extractOnHost: World["extract"] = (i, urn) =>
  onBuildHost(
    i,
    async ({ loaded, opts }) => {
      // Re-running the (cached) steps is free and rebuilds a build image that `cybernode clean` removed.
      const steps = await buildSteps(loaded, opts);
      return { buildKey: steps.buildKey, manifest: (await extractBinaries(loaded, steps, opts)).manifest };
    },
    { name: "extraction to bin/", urn },
  );

const assembleOnHost: World["assemble"] = (i, urn) =>
  onBuildHost(
    i,
    async ({ loaded, opts }) => {
      const binDir = join(loaded.dir, "bin");
      let manifest = readManifest(binDir);
      if (!manifest || !binMatchesManifest(binDir, manifest)) {
        // bin/ is missing or edited (another machine, a clean checkout): make it again from the cache.
        manifest = (await extractBinaries(loaded, await buildSteps(loaded, opts), opts)).manifest;
      }
      const expect = i.promotedImageId ? { imageId: i.promotedImageId, from: i.promotedFrom } : undefined;
      const run = await assembleAndLoad(loaded, manifest, { ...opts, expect });
      const publisher = await publisherFor(destinationFor(i));
      const { pullRef, bytesSent } = await publisher.publish({ plan: run.plan, imageId: run.imageId, tag: run.tags[0] });
      const [imageId, version, tags] = [run.imageId, manifest.version, run.tags];
      return { imageId, version, tags, shippedBytes: bytesSent, pullRef, configDigest: run.plan.imageId };
    },
    { name: "run image", urn },
  );

export function engineWorld(): World {
  // Base images by build host and local name: images with the same base ask Docker once per engine run.
  const baseId = memo((key) => {
    const [host, ref] = key.split("\n");
    return imageIdOf(ref, host);
  });
  const previewBases: ResolvedBases = new Map();
  return {
    env: process.env,
    imageIdOf: (ref, host) => imageIdOf(ref, host),
    baseImageIdOf: (ref, host) => baseId(`${host}\n${ref}`),
    containerdHas: (socket, ref) => containerdHas(socket, ref),
    currentManifest: (binDir, buildKey, extraction) => currentManifest(binDir, buildKey, extraction),
    tell: (urn, message) => tell(urn, message),
    planBuild: (i, urn) => planOnHost(i, urn, previewBases),
    build: buildOnHost,
    extract: extractOnHost,
    assemble: assembleOnHost,
  };
}
