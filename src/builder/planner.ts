import { planSteps, type PlannedStep } from "./stepKeys";
import type { LoadedSpec } from "../imageSpec/load";
import { baseImageMapFromEnv, resolveBaseImage, type BaseImageMap, type ResolvedBase } from "./baseImages";
import { digestInputs, listInputs } from "./inputs";

/**
 * The planner: what a build would do, from the spec, its inputs, the passed-through values and one
 * base-image lookup. Runs no container and loads neither tar nor the executor, so previews can plan
 * every image on each run.
 */

export interface PlanOptions {
  baseMap?: BaseImageMap;
  env?: NodeJS.ProcessEnv;
  /**
   * Base images already resolved in this process (local name → result), for callers that plan many
   * images at once against a base that cannot change meanwhile (previews). Default: none.
   */
  resolvedBases?: Map<string, Promise<ResolvedBase>>;
  /** Pull a missing base (builds do); without it a missing base is a BaseImageMissing (previews). */
  pull?: boolean;
  log?: (line: string) => void;
}

/** What a build would do, known before running anything: the chained step keys and what they cover. */
export interface BuildPlan {
  base: ResolvedBase;
  steps: PlannedStep[];
  /** Values of the spec's passEnv variables that are set (from o.env), covered by the keys. */
  passEnv: [string, string][];
  mountInputs: boolean;
  /** Cache key of the final step: identifies the build image. */
  buildKey: string;
  buildTag: string;
}

/** The values of the passEnv variables that are set in `env`, as the step keys cover them. Pure. */
export function passedEnv(names: string[], env: NodeJS.ProcessEnv): [string, string][] {
  return names.filter((k) => env[k] !== undefined).map((k): [string, string] => [k, env[k] as string]);
}

/**
 * The build's step keys from the base image ID (one `docker image inspect`), the spec, its inputs
 * and the passed-through values. Cheap and side-effect free: previews use it to tell whether a build
 * would run.
 */
export async function planBuild(loaded: LoadedSpec, o: PlanOptions = {}): Promise<BuildPlan> {
  const { spec, dir } = loaded;
  const env = o.env ?? process.env;
  const baseMap = o.baseMap ?? baseImageMapFromEnv(env);
  const resolve = () => resolveBaseImage(spec.name, "build.from", spec.build.from, baseMap, { pull: o.pull, log: o.log });
  const memo = o.resolvedBases;
  const cacheKey = baseMap.get(spec.build.from) ?? spec.build.from;
  if (memo && !memo.has(cacheKey)) {
    // A failed lookup is not remembered: the next plan asks again.
    const lookup = resolve();
    lookup.catch(() => memo.delete(cacheKey));
    memo.set(cacheKey, lookup);
  }
  const base = await (memo?.get(cacheKey) ?? resolve());
  const mountInputs = spec.build.inputs === true || (spec.build.inputs === "auto" && listInputs(dir).length > 0);
  const inputsDigest = mountInputs ? digestInputs(dir) || "empty" : "";
  const passEnv = passedEnv(spec.build.passEnv, env);
  const steps = planSteps({ spec, baseImageId: base.id, inputsDigest, passEnv });
  const last = steps[steps.length - 1];
  return { base, steps, passEnv, mountInputs, buildKey: last.key, buildTag: last.tag };
}
