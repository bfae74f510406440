import type * as pulumi from "@pulumi/pulumi";
import { stableJson } from "../plan/hash";

/**
 * Dynamic providers for the builder's three phases. Pulumi serializes these objects and runs them in
 * a separate process, so every method loads the builder lazily from the project folder (through the
 * tsx loader) and they capture nothing but plain data and the functions in this file.
 */

/** Bump when the providers' behaviour changes, so `pulumi preview` shows the change on every image. */
export const PROVIDER_VERSION = "4";

/** Inputs every phase shares. */
export interface PhaseInputs {
  /** Spec name, e.g. fullnode/btcd. */
  image: string;
  /** Absolute project folder (where src/ and node_modules/ are). */
  projectDir: string;
  /** Absolute images folder. */
  imagesRoot: string;
  /** Base-image mapping from the stack config. */
  baseImages: Record<string, string>;
  /**
   * Stack values for the spec's passEnv variables (cybernode:buildEnv), possibly secret. They reach
   * the build steps like the host's own variables; state keeps only their hash (buildEnvHash).
   */
  buildEnv: Record<string, string>;
  /** Docker host that builds (empty: the default of the machine running Pulumi). */
  buildHost: string;
  providerVersion: string;
}

export interface BuildImageInputs extends PhaseInputs {
  /** Hash of the spec's build part and its inputs folder. */
  buildHash: string;
}
/** What a resource stores: its inputs without the buildEnv values, plus their hash. */
type Stored<T extends PhaseInputs> = Omit<T, "buildEnv"> & { buildEnvHash: string };

export interface BuildImageOutputs extends Stored<BuildImageInputs> {
  buildKey: string;
  buildTag: string;
  baseImageId: string;
  stepsRun: number;
}

export interface BinariesInputs extends PhaseInputs {
  /** From the BuildImage resource: the build image the binaries come from. */
  buildKey: string;
}
export interface BinariesOutputs extends Stored<BinariesInputs> {
  version: string;
  files: { path: string; size: number; sha256: string }[];
  /** sha256 over the files and the version: equal binaries, equal digest. */
  digest: string;
}

export interface RunImageInputs extends PhaseInputs {
  /** Hash of the spec's run part (layout, config, labels). */
  runHash: string;
  /** From the Binaries resource. */
  binariesDigest: string;
  /** Docker host the containers run on; the image is loaded there when it is not the build host. */
  targetHost: string;
  /** Promotion: the config digest of the run image the source stack ran, and that stack's name ("" when not promoting). */
  promotedImageId: string;
  promotedFrom: string;
  /** Registry to push to (`host[:port][/path]`); "" for the registry-free path (docker load). */
  registry: string;
}
export interface RunImageOutputs extends Stored<RunImageInputs> {
  imageId: string;
  version: string;
  tags: string[];
  /** Bytes sent to the target host by the last create/update (0 when it had the image). */
  shippedBytes: number;
  /** With a registry: `<registry>/<repo>@sha256:…`, what the host pulls; otherwise "". */
  pullRef: string;
  /** Whether the image was on the host when last looked at (create/update: true; refresh reads it). */
  present: boolean;
  /** sha256 of the image config: the image ID on the classic store; compared by promotions on any store. */
  configDigest: string;
}

/**
 * The builder modules in the provider process, each loaded on first use: a preview's diffs need only
 * the planner and the manifest reader, not tar or the executor.
 */
function builder(projectDir: string) {
  const path = require("node:path") as typeof import("node:path");
  require(require.resolve("tsx/cjs", { paths: [projectDir] }));
  const load = (file: string) => require(path.join(projectDir, file));
  return {
    get build(): typeof import("../build/builder") {
      return load("src/build/builder.ts");
    },
    get plan(): typeof import("../build/plan") {
      return load("src/build/plan.ts");
    },
    get load(): typeof import("../spec/load") {
      return load("src/spec/load.ts");
    },
    get publish(): typeof import("../publish/publisher") {
      return load("src/publish/publisher.ts");
    },
    get extract(): typeof import("../build/extract") {
      return load("src/build/extract.ts");
    },
    get manifest(): typeof import("../build/manifest") {
      return load("src/build/manifest.ts");
    },
    get hash(): typeof import("../plan/hash") {
      return load("src/plan/hash.ts");
    },
    get assemble(): typeof import("../build/assemble") {
      return load("src/build/assemble.ts");
    },
    get cli(): typeof import("../docker/cli") {
      return load("src/docker/cli.ts");
    },
    get imageId(): typeof import("../docker/imageId") {
      return load("src/docker/imageId.ts");
    },
  };
}

/** Prepares a phase: points the docker CLI at the build host and loads the spec. */
function prepare(i: PhaseInputs) {
  const b = builder(i.projectDir);
  const loaded = b.load.loadSpec(i.imagesRoot, i.image);
  const lines: string[] = [];
  const opts = {
    baseMap: new Map(Object.entries(i.baseImages)),
    env: { ...process.env, ...(i.buildEnv ?? {}) },
    log: (l: string) => lines.push(l),
  };
  return { b, loaded, opts };
}

/**
 * Runs a phase with every docker call addressed to the build host ("" = this machine's default, even
 * when the process running Pulumi has DOCKER_HOST set: buildOn local means this machine).
 */
function onBuildHost<T>(i: PhaseInputs, fn: (p: ReturnType<typeof prepare>) => Promise<T>): Promise<T> {
  const p = prepare(i);
  return p.b.cli.onDockerHost(i.buildHost, () => fn(p));
}

/** The engine's placeholder for a value not known until an earlier resource is updated (previews). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether an image (ID or tag) is on a Docker host ("" = the default host of this process). */
async function imagePresent(b: ReturnType<typeof builder>, ref: string, host: string): Promise<boolean> {
  if (!ref) return false;
  return (await b.imageId.imageIdOf(ref, host)) !== null;
}

/** The host a run image must be on for its containers (with a registry: the build host, which pushes it). */
const runImageHost = (b: ReturnType<typeof builder>, i: Pick<RunImageInputs, "registry" | "targetHost" | "buildHost">) =>
  b.publish.runHostOf(b.publish.destinationFor(i), i.buildHost);

/** bin/ holds what the build with this key extracted, unedited. */
function binCurrent(b: ReturnType<typeof builder>, binDir: string, buildKey: string) {
  const manifest = b.manifest.readManifest(binDir);
  return manifest && manifest.buildKey === buildKey && b.manifest.binMatchesManifest(binDir, manifest) ? manifest : null;
}

/** Binaries digest: what decides whether the run image can change. Pure. */
export function binariesDigest(
  files: { path: string; size: number; sha256: string }[],
  version: string,
  sha: (s: string) => string,
): string {
  return sha(JSON.stringify({ version, files: files.map((f) => [f.path, f.size, f.sha256]) }));
}

/** sha256 of the buildEnv values: what state keeps of them. */
function envHash(env: Record<string, string> | undefined): string {
  const crypto = require("node:crypto") as typeof import("node:crypto");
  return crypto
    .createHash("sha256")
    .update(stableJson(env ?? {}))
    .digest("hex");
}

/** The inputs as a resource stores them: buildEnv values replaced by their hash. */
function stored<T extends PhaseInputs>(i: T): Stored<T> {
  const { buildEnv, ...rest } = i;
  return { ...rest, buildEnvHash: envHash(buildEnv) };
}

/** Inputs that differ between the stored state and the new inputs (buildEnv by its hash). */
function changedKeys<T extends PhaseInputs>(olds: Stored<T>, news: T, keys: (keyof T)[]): (keyof T)[] {
  return keys.filter((k) =>
    k === "buildEnv"
      ? olds.buildEnvHash !== envHash(news.buildEnv)
      : stableJson((olds as Record<keyof T, unknown>)[k]) !== stableJson(news[k]),
  );
}

const COMMON: (keyof PhaseInputs)[] = ["image", "imagesRoot", "baseImages", "buildEnv", "buildHost", "providerVersion"];

async function checkPhase(_olds: unknown, news: PhaseInputs) {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  if (!/^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/.test(String(news.image)))
    failures.push({ property: "image", reason: `'${news.image}' is not group/name` });
  if (!String(news.projectDir).startsWith("/")) failures.push({ property: "projectDir", reason: "must be an absolute folder" });
  return { inputs: news, failures };
}

async function runBuild(i: BuildImageInputs): Promise<BuildImageOutputs> {
  return onBuildHost(i, async ({ b, loaded, opts }) => {
    const r = await b.build.buildSteps(loaded, opts);
    return { ...stored(i), buildKey: r.buildKey, buildTag: r.buildTag, baseImageId: r.baseImageId, stepsRun: r.stepsRun };
  });
}

async function runExtract(i: BinariesInputs): Promise<BinariesOutputs> {
  return onBuildHost(i, async ({ b, loaded, opts }) => {
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
  });
}

async function runAssemble(i: RunImageInputs): Promise<RunImageOutputs> {
  return onBuildHost(i, async ({ b, loaded, opts }) => {
    const path = require("node:path") as typeof import("node:path");
    const binDir = path.join(loaded.dir, "bin");
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
  });
}

export const buildImageProvider: pulumi.dynamic.ResourceProvider = {
  check: checkPhase,
  async diff(_id: string, olds: BuildImageOutputs, news: BuildImageInputs) {
    if (changedKeys<BuildImageInputs>(olds, news, [...COMMON, "buildHash"]).length) return { changes: true, replaces: [] };
    // The plan is the diff: the step keys cover the base image ID and the passed-through values, so a
    // re-pulled base or a new GOPROXY shows here. A step image removed by `cybernode clean` too.
    return onBuildHost(news, async ({ b, loaded, opts }) => {
      // One base-image lookup per provider process (one engine run) for all images sharing a base.
      const g = globalThis as { cybernodeResolvedBases?: Map<string, Promise<import("../build/baseImages").ResolvedBase>> };
      g.cybernodeResolvedBases ??= new Map();
      const plan = await b.plan.planBuild(loaded, { ...opts, resolvedBases: g.cybernodeResolvedBases });
      const stale = plan.buildKey !== olds.buildKey || !(await imagePresent(b, plan.buildTag, news.buildHost));
      return { changes: stale, replaces: [], stables: stale ? [] : ["buildKey", "buildTag"] };
    });
  },
  async create(i: BuildImageInputs) {
    const outs = await runBuild(i);
    return { id: `${i.image}@build`, outs };
  },
  async update(_id: string, _olds: BuildImageOutputs, news: BuildImageInputs) {
    return { outs: await runBuild(news) };
  },
  async delete() {
    // Step images are a cache; `npx cybernode clean` removes them.
  },
};

export const binariesProvider: pulumi.dynamic.ResourceProvider = {
  check: checkPhase,
  async diff(_id: string, olds: BinariesOutputs, news: BinariesInputs) {
    if (changedKeys<BinariesInputs>(olds, news, [...COMMON, "buildKey"]).length) return { changes: true, replaces: [] };
    // bin/ deleted or edited since: extract again (from the cached build image).
    const path = require("node:path") as typeof import("node:path");
    const b = builder(news.projectDir);
    const current = binCurrent(b, path.join(news.imagesRoot, news.image, "bin"), olds.buildKey);
    return { changes: !current, replaces: [], stables: current ? ["digest", "version", "files"] : [] };
  },
  async create(i: BinariesInputs) {
    const outs = await runExtract(i);
    return { id: `${i.image}@bin`, outs };
  },
  async update(_id: string, _olds: BinariesOutputs, news: BinariesInputs) {
    return { outs: await runExtract(news) };
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
async function checkPromotion(i: RunImageInputs): Promise<pulumi.dynamic.CheckFailure[]> {
  if (!i.promotedImageId || i.promotedImageId === UNKNOWN) return [];
  return onBuildHost(i, async ({ b, loaded, opts }) => {
    const plan = await b.plan.planBuild(loaded, opts);
    const path = require("node:path") as typeof import("node:path");
    const binDir = path.join(loaded.dir, "bin");
    const manifest = binCurrent(b, binDir, plan.buildKey);
    if (!manifest) return [];
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

export const runImageProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: unknown, news: RunImageInputs) {
    const r = await checkPhase(olds, news);
    if (r.failures.length === 0) r.failures.push(...(await checkPromotion(news)));
    return r;
  },
  async diff(_id: string, olds: RunImageOutputs, news: RunImageInputs) {
    if (
      changedKeys<RunImageInputs>(olds, news, [...COMMON, "runHash", "binariesDigest", "targetHost", "promotedImageId", "registry"]).length
    ) {
      return { changes: true, replaces: [] };
    }
    // Read the world back: an image pruned from the host (docker image prune -a) is loaded again.
    const b = builder(news.projectDir);
    const present = olds.present !== false && (await imagePresent(b, olds.imageId, runImageHost(b, news)));
    return { changes: !present, replaces: [], stables: present ? ["imageId", "version", "tags"] : [] };
  },
  async read(id: string, props: RunImageOutputs) {
    // `pulumi refresh`: record whether the image is still on its host; the next up reloads it if not.
    const b = builder(props.projectDir);
    return { id, props: { ...props, present: await imagePresent(b, props.imageId, runImageHost(b, props)) } };
  },
  async create(i: RunImageInputs) {
    const outs = await runAssemble(i);
    return { id: `${i.image}@run`, outs };
  },
  async update(_id: string, _olds: RunImageOutputs, news: RunImageInputs) {
    return { outs: await runAssemble(news) };
  },
  async delete() {
    // Run images stay on the host: a container may still use them.
  },
};
