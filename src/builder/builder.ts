import { join } from "node:path";
import { daemonInfo, docker } from "../docker/cli";
import { inBackground, removeOrphanedTemporaries, removeUnremovedTemporaries } from "../docker/temporaries";
import { presentImages } from "../docker/engineApi";
import { familiarTag } from "../common/registryRef";
import { firstMissingStep, stepRepository, versionFile } from "./stepKeys";
import type { LoadedSpec } from "../imageSpec/load";
import { baseImageMapFromEnv, type BaseImageMap } from "./baseImages";
import { planBuild, type PlanOptions } from "./planner";
export { planBuild, type BuildPlan } from "./planner";
import { extractArtifacts, type BinManifest } from "./extract";
import { stageInputs } from "./inputs";
import { assembleRunImage, sourceDateEpoch } from "./assemble";
import { cachedRunImage, rememberRunImage, runImageKey } from "./runImageCache";
import { imageIdOf } from "../docker/imageId";
import { runSteps, type FileTransfer } from "./runSteps";

/**
 * The builder in three phases, each idempotent and cheap when nothing changed:
 * build steps → extraction to bin/ → run image. `buildImage` runs all three; the Pulumi resources
 * call them one per resource.
 */

export interface BuildOptions {
  baseMap?: BaseImageMap;
  /** Where progress lines go. Default: stderr. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** How build files reach step containers; default from DOCKER_HOST (see steps.ts). */
  transfer?: FileTransfer;
  resolvedBases?: PlanOptions["resolvedBases"];
}

export interface StepsResult {
  baseImageId: string;
  /** The local name the base was found under (after mapping): what a later check looks up again. */
  baseRef: string;
  stepsTotal: number;
  stepsRun: number;
  stepSeconds: number[];
  /** Containers the steps ran in (one for consecutive steps on a local engine). */
  stepContainers: number;
  /** Cache key of the final build step (identifies the build image). */
  buildKey: string;
  /** Tag of the final build-step image. */
  buildTag: string;
}

export interface BuildResult extends StepsResult {
  image: string;
  imageId: string;
  version: string;
  tags: string[];
  extracted: boolean;
  /** Of the extracted paths, how many came from the build container's own archives (see packLines). */
  extractedFromPacked: number;
  loaded: boolean;
  manifest: BinManifest;
  binDir: string;
  seconds: number;
}

const defaultLog = (l: string) => process.stderr.write(`${l}\n`);

/** What `afterLast` gets besides the build container: see StepRunOptions.afterLast. */
export interface LastStepResults {
  buildKey: string;
  buildTag: string;
  /** Archives of the artifacts and the version file made in the container (path → file). */
  packed: Map<string, string>;
  /** The last step's commit: the build image exists once this resolves. */
  committed: Promise<void>;
}

/**
 * Phase 1: runs the build steps that are not cached. An unchanged build starts no container. `afterLast`
 * runs in the build container after the last step, beside its commit (only when that step ran). With
 * `onTeardown`, this returns once both are done and hands over the build container's exit and removal
 * (steps.ts).
 */
export async function buildSteps(
  loaded: LoadedSpec,
  o: BuildOptions = {},
  afterLast?: (container: string, result: LastStepResults) => Promise<void>,
  onTeardown?: (cleanup: Promise<void>) => void,
): Promise<StepsResult> {
  const { spec, dir } = loaded;
  const log = o.log ?? defaultLog;
  await daemonInfo();
  await removeUnremovedTemporaries();
  const orphans = await removeOrphanedTemporaries();
  if (orphans.length)
    log(`[${spec.name}] removed ${orphans.length} temporary container(s) left by builds that ended: ${orphans.join(", ")}`);
  // A build pulls a base that is neither on the host nor mapped, as docker build does.
  const { base, steps, passEnv, mountInputs } = await planBuild(loaded, { ...o, pull: true, log });

  const repo = stepRepository(spec.name);
  const present =
    (await presentImages(steps.map((s) => s.tag))) ??
    new Set((await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo])).split("\n").filter(Boolean).map(familiarTag));
  const startAt = firstMissingStep(steps, present);
  const last = steps[steps.length - 1];
  let stepsRun = 0;
  let stepSeconds: number[] = [];
  let stepContainers = 0;
  if (startAt < steps.length) {
    log(
      `[${spec.name}] ${startAt} of ${steps.length} steps cached; running ${steps.length - startAt} from ${startAt === 0 ? `${base.local}${base.local !== base.requested ? ` (mapped from ${base.requested})` : ""}` : `the image of step ${startAt}`}`,
    );
    const staged = mountInputs ? stageInputs(dir) : undefined;
    let teardown: Promise<void> | undefined;
    try {
      const r = await runSteps({
        image: spec.name,
        steps,
        startAt,
        from: startAt === 0 ? base.id : steps[startAt - 1].tag,
        env: spec.build.env,
        passEnv,
        workdir: spec.build.workdir,
        caches: spec.build.caches,
        inputsPath: staged?.path,
        transfer: o.transfer,
        log,
        pack: afterLast && [...spec.build.artifacts.map((a) => a.path), versionFile(spec)],
        afterLast:
          afterLast &&
          ((container, packed, committed) => afterLast(container, { buildKey: last.key, buildTag: last.tag, packed, committed })),
        onTeardown:
          onTeardown &&
          ((cleanup) => {
            teardown = cleanup;
          }),
      });
      stepsRun = r.ran;
      stepSeconds = r.seconds;
      stepContainers = r.containers;
    } finally {
      // Also when the container still exits (onTeardown): its steps are done, the mount is not read again.
      staged?.dispose();
      if (teardown && onTeardown) onTeardown(teardown);
    }
  } else {
    log(`[${spec.name}] all ${steps.length} build steps cached`);
  }
  return {
    baseImageId: base.id,
    baseRef: base.local,
    stepsTotal: steps.length,
    stepsRun,
    stepSeconds,
    stepContainers,
    buildKey: last.key,
    buildTag: last.tag,
  };
}

/**
 * Phase 2: extracts the artifacts of the build image into bin/ (skipped when bin/ already matches), from
 * `container` when given (the build container after its last step, with what it packed), else from a new one.
 */
export async function extractBinaries(
  loaded: LoadedSpec,
  steps: Pick<StepsResult, "buildKey" | "buildTag"> & Partial<Pick<LastStepResults, "packed" | "committed">>,
  o: BuildOptions = {},
  container?: string,
) {
  return extractArtifacts({
    spec: loaded.spec,
    dir: loaded.dir,
    buildImage: steps.buildTag,
    buildKey: steps.buildKey,
    versionFile: versionFile(loaded.spec),
    log: o.log ?? defaultLog,
    container,
    packed: steps.packed,
    buildImageReady: steps.committed,
  });
}

/**
 * Phase 3: assembles the run image from bin/ and loads it unless the daemon has that ID already.
 * With `expect`, a promoted image ID must be reproduced exactly, or nothing is loaded.
 */
export async function assembleAndLoad(
  loaded: LoadedSpec,
  manifest: BinManifest,
  o: BuildOptions & { expect?: { imageId: string; from: string } } = {},
) {
  return assembleRunImage({
    spec: loaded.spec,
    binDir: join(loaded.dir, "bin"),
    manifest,
    baseMap: o.baseMap ?? baseImageMapFromEnv(o.env ?? process.env),
    log: o.log ?? defaultLog,
    expect: o.expect,
  });
}

/**
 * Phase 3 for a plain build: when bin/ and everything the run image ID depends on are unchanged since
 * the last assembly and the daemon still has that image under its tag, nothing is re-read or re-hashed.
 * (Pulumi's RunImage always plans in full: its publishers need the archive.)
 */
async function reuseOrAssemble(
  loaded: LoadedSpec,
  manifest: BinManifest,
  o: BuildOptions,
): Promise<{ imageId: string; tags: string[]; loaded: boolean }> {
  const binDir = join(loaded.dir, "bin");
  const info = await daemonInfo();
  const key = info.containerdStore ? null : runImageKey(loaded.spec, manifest, sourceDateEpoch(), info.architecture);
  const hit = key ? cachedRunImage(binDir, key) : null;
  // Every tag, not just the first: a removed `:latest` must be put back by the next build.
  if (hit && (await Promise.all(hit.tags.map((t) => imageIdOf(t)))).every((id) => id === hit.imageId)) {
    (o.log ?? defaultLog)(
      `[${loaded.spec.name} run image] already present ${hit.imageId} as ${hit.tags.join(", ")} (bin/ unchanged since it was assembled)`,
    );
    return { ...hit, loaded: false };
  }
  const run = await assembleAndLoad(loaded, manifest, o);
  if (key) rememberRunImage(binDir, key, run.imageId, run.tags);
  return run;
}

/** All three phases: build steps (from cache where possible) → bin/ → deterministic run image. */
export async function buildImage(loaded: LoadedSpec, o: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  // When steps run, bin/ is copied from what the build container packed, while its last step is committed
  // (no second container). The build container then exits and is removed in the background.
  let early: Awaited<ReturnType<typeof extractBinaries>> | undefined;
  const steps = await buildSteps(
    loaded,
    o,
    async (container, final) => {
      early = await extractBinaries(loaded, final, o, container);
    },
    inBackground,
  );
  const ex = early ?? (await extractBinaries(loaded, steps, o));
  const run = await reuseOrAssemble(loaded, ex.manifest, o);
  return {
    ...steps,
    image: loaded.spec.name,
    imageId: run.imageId,
    version: ex.manifest.version,
    tags: run.tags,
    extracted: ex.extracted,
    extractedFromPacked: ex.fromPacked,
    loaded: run.loaded,
    manifest: ex.manifest,
    binDir: join(loaded.dir, "bin"),
    seconds: (Date.now() - started) / 1000,
  };
}
