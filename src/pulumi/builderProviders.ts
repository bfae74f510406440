import { join } from "node:path";
import * as b from "./builderModules";
import {
  changedKeys,
  COMMON,
  imagePresent,
  onBuildHost,
  planHash,
  previewBaseLookups,
  runImageInPlace,
  stored,
  storedPlanHolds,
  UNKNOWN,
} from "./providerRuntime";
import type {
  CheckFailure,
  ResourceOps,
  BinariesInputs,
  BinariesOutputs,
  BuildImageInputs,
  BuildImageOutputs,
  PhaseInputs,
  RunImageInputs,
  RunImageOutputs,
} from "./providerTypes";
export type * from "./providerTypes";
export { binariesDigest } from "./providerRuntime";
import { binariesDigest } from "./providerRuntime";

/**
 * The builder's three phases as Pulumi resources (cybernode-images:index:BuildImage, Binaries, RunImage), run
 * by the provider plugin (src/pulumi/plugin/). The export names stay those of the dynamic providers that
 * stacks made before the plugin: their serialized shims load this file to delete old resources.
 */

export { PROVIDER_VERSION } from "./providerTypes";

async function checkPhase(_olds: unknown, news: PhaseInputs) {
  const failures: CheckFailure[] = [];
  if (!/^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/.test(String(news.image)))
    failures.push({ property: "image", reason: `'${news.image}' is not group/name` });
  if (!String(news.projectDir).startsWith("/")) failures.push({ property: "projectDir", reason: "must be an absolute folder" });
  return { failures };
}

async function runBuild(i: BuildImageInputs, urn?: string): Promise<BuildImageOutputs> {
  return onBuildHost(
    i,
    async ({ loaded, opts }) => {
      // When the steps run, bin/ is written from the build container's archives while its last step is
      // committed (Binaries then finds it current), and the container exits in the background.
      const r = await b.build.buildSteps(
        loaded,
        opts,
        async (container, last) => void (await b.build.extractBinaries(loaded, last, opts, container)),
        b.temporaries.inBackground,
      );
      const passEnvNames = loaded.spec.build.passEnv;
      return {
        ...stored(i),
        buildKey: r.buildKey,
        buildTag: r.buildTag,
        baseImageId: r.baseImageId,
        stepsRun: r.stepsRun,
        baseRef: r.baseRef,
        passEnvNames,
        planHash: planHash(b.plan.passedEnv(passEnvNames, opts.env)),
      };
    },
    { name: "build steps", urn },
  );
}

async function runExtract(i: BinariesInputs, urn?: string): Promise<BinariesOutputs> {
  return onBuildHost(
    i,
    async ({ loaded, opts }) => {
      // Re-running the (cached) steps is free and rebuilds a build image that `cybernode clean` removed.
      const steps = await b.build.buildSteps(loaded, opts);
      const ex = await b.build.extractBinaries(loaded, steps, opts);
      const files = ex.manifest.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
      return {
        ...stored(i),
        buildKey: steps.buildKey,
        version: ex.manifest.version,
        files,
        digest: binariesDigest(files, ex.manifest.version, b.hash.sha256),
      };
    },
    { name: "extraction to bin/", urn },
  );
}

async function runAssemble(i: RunImageInputs, urn?: string): Promise<RunImageOutputs> {
  return onBuildHost(
    i,
    async ({ loaded, opts }) => {
      const binDir = join(loaded.dir, "bin");
      let manifest = b.manifest.readManifest(binDir);
      if (!manifest || !b.manifest.binMatchesManifest(binDir, manifest)) {
        // bin/ is missing or edited (another machine, a clean checkout): make it again from the cache.
        manifest = (await b.build.extractBinaries(loaded, await b.build.buildSteps(loaded, opts), opts)).manifest;
      }
      const expect = i.promotedImageId ? { imageId: i.promotedImageId, from: i.promotedFrom } : undefined;
      const run = await b.build.assembleAndLoad(loaded, manifest, { ...opts, expect });
      const publisher = await b.publish.publisherFor(b.publish.destinationFor(i));
      const { pullRef, bytesSent: shippedBytes } = await publisher.publish({ plan: run.plan, imageId: run.imageId, tag: run.tags[0] });
      return {
        ...stored(i),
        imageId: run.imageId,
        version: manifest.version,
        tags: run.tags,
        shippedBytes,
        pullRef,
        present: true,
        configDigest: run.plan.imageId,
      };
    },
    { name: "run image", urn },
  );
}

/**
 * A plan in a preview, which pulls nothing: a base that is not on the build host (and that the build
 * would pull) is told in the preview's diagnostics, and null says the build will run.
 */
async function basePulledAtUp<T>(urn: string | undefined, plan: () => Promise<T>): Promise<T | null> {
  try {
    return await plan();
  } catch (e) {
    if (!(e instanceof b.baseImages.BaseImageMissing)) throw e;
    await b.progress.tell(urn, `${e.where}: ${e.field}: base image ${e.local} is not on the build host: pulumi up pulls it, then builds`);
    return null;
  }
}

/** What each image resource's diff reacts to before it looks at the world: its inputs, as the README lists them. */
export const DIFF_KEYS = {
  build: [...COMMON, "buildHash"] as (keyof BuildImageInputs)[],
  bin: [...COMMON, "buildKey", "extraction"] as (keyof BinariesInputs)[],
  run: [...COMMON, "runHash", "binariesDigest", "targetHost", "promotedImageId", "registry"] as (keyof RunImageInputs)[],
};

export const buildImageProvider: ResourceOps = {
  check: checkPhase,
  async diff(_id: string, olds: BuildImageOutputs, news: BuildImageInputs, urn?: string) {
    if (changedKeys<BuildImageInputs>(olds, news, DIFF_KEYS.build).length) return { changes: true, replaces: [] };
    // Same spec.build, inputs, mapping and buildEnv: the stored key holds while the base image and the
    // host's passed-through values do, which needs no spec (no TypeScript loader in a no-op preview).
    const holds = await storedPlanHolds(olds, news);
    if (holds !== null) {
      const stale = !holds || !(await imagePresent(olds.buildTag, news.buildHost));
      return { changes: stale, replaces: [], stables: stale ? [] : ["buildKey", "buildTag"] };
    }
    // The plan is the diff: the step keys cover the base image ID and the passed-through values, so a
    // re-pulled base or a new GOPROXY shows here. A step image removed by `cybernode clean` too.
    return onBuildHost(news, async ({ loaded, opts }) => {
      const plan = await basePulledAtUp(urn, () => b.plan.planBuild(loaded, { ...opts, resolvedBases: previewBaseLookups() }));
      if (!plan) return { changes: true, replaces: [] };
      const stale = plan.buildKey !== olds.buildKey || !(await imagePresent(plan.buildTag, news.buildHost));
      return { changes: stale, replaces: [], stables: stale ? [] : ["buildKey", "buildTag"] };
    });
  },
  async create(i: BuildImageInputs, urn?: string) {
    const outs = await runBuild(i, urn);
    return { id: `${i.image}@build`, outs };
  },
  async update(_id: string, _olds: BuildImageOutputs, news: BuildImageInputs, urn?: string) {
    return { outs: await runBuild(news, urn) };
  },
  async delete() {
    // Step images are a cache; `npx cybernode clean` removes them.
  },
};

export const binariesProvider: ResourceOps = {
  check: checkPhase,
  async diff(_id: string, olds: BinariesOutputs, news: BinariesInputs) {
    if (changedKeys<BinariesInputs>(olds, news, DIFF_KEYS.bin).length) return { changes: true, replaces: [] };
    // bin/ deleted, edited or extracted by another build since: extract again (from the cached build image).
    const current = b.manifest.currentManifest(join(news.imagesRoot, news.image, "bin"), olds.buildKey, news.extraction);
    return { changes: !current, replaces: [], stables: current ? ["digest", "version", "files"] : [] };
  },
  async create(i: BinariesInputs, urn?: string) {
    const outs = await runExtract(i, urn);
    return { id: `${i.image}@bin`, outs };
  },
  async update(_id: string, _olds: BinariesOutputs, news: BinariesInputs, urn?: string) {
    return { outs: await runExtract(news, urn) };
  },
  async delete() {
    // bin/ is a debugging copy inside the project; it stays.
  },
};

/**
 * Promotion at preview: when bin/ is current for the planned build, the run image ID is known before
 * anything runs, so a promotion that `up` would refuse fails the preview with the same message. When a
 * rebuild is needed first, the ID is not known and `up` decides (nothing is loaded on a mismatch).
 */
async function checkPromotion(i: RunImageInputs, urn?: string): Promise<CheckFailure[]> {
  if (!i.promotedImageId || i.promotedImageId === UNKNOWN) return [];
  return onBuildHost(i, async ({ loaded, opts }) => {
    const plan = await basePulledAtUp(urn, () => b.plan.planBuild(loaded, { ...opts, resolvedBases: previewBaseLookups() }));
    if (!plan) return [];
    const binDir = join(loaded.dir, "bin");
    const manifest = b.manifest.currentManifest(binDir, plan.buildKey, b.steps.extractionHash(loaded.spec));
    if (!manifest) {
      // The ID is known only after the build: say so once, in the preview's diagnostics.
      await b.progress.tell(
        urn,
        `image ${i.image}: promotion from ${i.promotedFrom} is checked at pulumi up: bin/ is not current for the planned build, so the run image ID is known only after the build (nothing is loaded if it differs from ${i.promotedImageId.slice(0, 19)}…)`,
      );
      return [];
    }
    const predicted = await b.assemble.predictRunImage({ spec: loaded.spec, binDir, manifest, baseMap: opts.baseMap });
    if (predicted.imageId === i.promotedImageId) return [];
    return [
      {
        property: "promotedImageId",
        reason: new b.assemble.PromotionMismatchError(i.image, i.promotedFrom, i.promotedImageId, predicted.imageId).message,
      },
    ];
  });
}

export const runImageProvider: ResourceOps = {
  async check(olds: unknown, news: RunImageInputs, urn?: string) {
    const r = await checkPhase(olds, news);
    if (r.failures.length === 0) r.failures.push(...(await checkPromotion(news, urn)));
    return r;
  },
  async diff(_id: string, olds: RunImageOutputs, news: RunImageInputs) {
    if (changedKeys<RunImageInputs>(olds, news, DIFF_KEYS.run).length) return { changes: true, replaces: [] };
    // Read the world back: an image pruned from the host (docker image prune -a) is loaded again.
    const present = olds.present !== false && (await runImageInPlace(news, olds));
    return { changes: !present, replaces: [], stables: present ? ["imageId", "version", "tags"] : [] };
  },
  async read(id: string, props: RunImageOutputs) {
    // `pulumi refresh`: record whether the image is still on its host; the next up reloads it if not.
    return { id, props: { ...props, present: await runImageInPlace(props, props) } };
  },
  async create(i: RunImageInputs, urn?: string) {
    const outs = await runAssemble(i, urn);
    return { id: `${i.image}@run`, outs };
  },
  async update(_id: string, _olds: RunImageOutputs, news: RunImageInputs, urn?: string) {
    return { outs: await runAssemble(news, urn) };
  },
  async delete() {
    // Run images stay on the host: a container may still use them.
  },
};
