import { join } from "node:path";
import { daemonInfo, docker } from "../docker/cli";
import { firstMissingStep, planSteps, stepRepository, versionFile } from "../plan/steps";
import type { LoadedSpec } from "../spec/load";
import { baseImageMapFromEnv, resolveBaseImage, type BaseImageMap } from "./baseImages";
import { extractArtifacts, type BinManifest } from "./extract";
import { digestInputs, listInputs, stageInputs } from "./inputs";
import { assembleRunImage } from "./runImage";
import { runSteps } from "./steps";

export interface BuildOptions {
  baseMap?: BaseImageMap;
  /** Where progress lines go. Default: stderr. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface BuildResult {
  image: string;
  imageId: string;
  version: string;
  tags: string[];
  baseImageId: string;
  stepsTotal: number;
  stepsRun: number;
  stepSeconds: number[];
  /** Cache key of the final build step (identifies the build image). */
  buildKey: string;
  extracted: boolean;
  loaded: boolean;
  manifest: BinManifest;
  binDir: string;
  seconds: number;
}

/**
 * Builds one image end to end: build steps (from cache where possible) → extraction to bin/ →
 * deterministic run image loaded into the daemon. An unchanged build starts no container.
 */
export async function buildImage(loaded: LoadedSpec, o: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  const { spec, dir } = loaded;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const env = o.env ?? process.env;
  await daemonInfo();
  const baseMap = o.baseMap ?? baseImageMapFromEnv(env);
  const base = await resolveBaseImage(spec.name, "build.from", spec.build.from, baseMap);

  const mountInputs = spec.build.inputs === true || (spec.build.inputs === "auto" && listInputs(dir).length > 0);
  const inputsDigest = mountInputs ? digestInputs(dir) || "empty" : "";
  const passEnv = spec.build.passEnv.filter((k) => env[k] !== undefined).map((k): [string, string] => [k, env[k] as string]);
  const steps = planSteps({ spec, baseImageId: base.id, inputsDigest, passEnv });

  const listed = await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", stepRepository(spec.name)]);
  const cached = new Set(listed.split("\n").filter(Boolean));
  const startAt = firstMissingStep(steps, cached);
  let stepsRun = 0;
  let stepSeconds: number[] = [];
  if (startAt < steps.length) {
    log(`[${spec.name}] ${startAt} of ${steps.length} steps cached; running ${steps.length - startAt} from ${base.local}${base.local !== base.requested ? ` (mapped from ${base.requested})` : ""}`);
    const staged = mountInputs ? stageInputs(dir) : undefined;
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
        log,
      });
      stepsRun = r.ran;
      stepSeconds = r.seconds;
    } finally {
      staged?.dispose();
    }
  } else {
    log(`[${spec.name}] all ${steps.length} build steps cached`);
  }

  const last = steps[steps.length - 1];
  const binDir = join(dir, "bin");
  const ex = await extractArtifacts({ spec, dir, buildImage: last.tag, buildKey: last.key, versionFile: versionFile(spec), log });
  const run = await assembleRunImage({ spec, binDir, manifest: ex.manifest, baseMap, log });
  return {
    image: spec.name,
    imageId: run.imageId,
    version: ex.manifest.version,
    tags: run.tags,
    baseImageId: base.id,
    stepsTotal: steps.length,
    stepsRun,
    stepSeconds,
    buildKey: last.key,
    extracted: ex.extracted,
    loaded: run.loaded,
    manifest: ex.manifest,
    binDir,
    seconds: (Date.now() - started) / 1000,
  };
}
