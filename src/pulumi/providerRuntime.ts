import { createHash } from "node:crypto";
import * as b from "./builderModules";
import { stableJson } from "../plan/hash";
import type { BuildImageInputs, BuildImageOutputs, PhaseInputs, RunImageInputs, Stored } from "./providerTypes";

/**
 * What the image providers share in the provider plugin's process (src/pulumi/plugin/): the phase
 * set-up on the build host, world checks, and how inputs are stored.
 */

/**
 * Prepares a phase: loads the spec and the build options from the inputs. A phase that
 * may build (`phase` given) reports its lines as progress (progress.ts); checks and diffs stay quiet.
 */
export function prepare(i: PhaseInputs, phase?: { name: string; urn?: string }) {
  const loaded = b.load.loadSpec(i.imagesRoot, i.image);
  const progress = phase ? b.progress.phaseProgress({ projectDir: i.projectDir, image: i.image, phase: phase.name, urn: phase.urn }) : null;
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
  const engine = b.interrupts.removeTemporariesOnSignals();
  try {
    return await b.engine.withEngine({ ...engine, host: i.buildHost }, () => fn(p));
  } catch (e) {
    if (p.progress?.written && e instanceof Error) e.message += `\n  full log of this build: ${p.progress.logPath}`;
    throw e;
  } finally {
    await p.progress?.flush();
  }
}

/**
 * Base-image lookups shared by every plan a preview makes in this plugin process (one engine run):
 * images with the same base ask Docker once. Not for builds, which look again.
 */
const previewBases = new Map<string, Promise<import("../build/baseImages").ResolvedBase>>();
export function previewBaseLookups(): Map<string, Promise<import("../build/baseImages").ResolvedBase>> {
  return previewBases;
}

/** What a build key covers beyond the spec and its inputs, besides the base image ID. Pure. */
export function planHash(passEnv: [string, string][]): string {
  return createHash("sha256")
    .update(stableJson({ runner: b.steps.STEP_RUNNER_VERSION, passEnv }))
    .digest("hex");
}

/** Base image IDs by local name, asked once per plugin process (one engine run), like previewBaseLookups. */
const storedBases = new Map<string, Promise<string | null>>();

/**
 * Whether the build key a BuildImage stored still holds, answered without loading the spec: the caller
 * has checked that buildHash (what the step keys take from spec.build, and the inputs), the base mapping and buildEnv are unchanged, so
 * what is left is the base image's ID and the host's passed-through values. null when the state predates
 * the fields this needs, or the base image is gone (the full plan then says what to do).
 */
export async function storedPlanHolds(
  olds: Pick<BuildImageOutputs, "baseRef" | "passEnvNames" | "planHash" | "baseImageId">,
  news: Pick<BuildImageInputs, "buildEnv" | "buildHost">,
): Promise<boolean | null> {
  if (!olds.baseRef || !olds.passEnvNames || !olds.planHash) return null;
  const env = { ...process.env, ...(news.buildEnv ?? {}) };
  if (planHash(b.plan.passedEnv(olds.passEnvNames, env)) !== olds.planHash) return false;
  const key = `${news.buildHost}\n${olds.baseRef}`;
  let id = storedBases.get(key);
  if (!id) {
    id = b.imageId.imageIdOf(olds.baseRef, news.buildHost);
    storedBases.set(key, id);
    id.catch(() => storedBases.delete(key));
  }
  const current = await id;
  if (current === null) {
    storedBases.delete(key);
    return null;
  }
  return current === olds.baseImageId;
}

/** The engine's placeholder for a value not known until an earlier resource is updated (previews). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether an image (ID or tag) is on a Docker host ("" = the default host of this process). */
export async function imagePresent(ref: string, host: string): Promise<boolean> {
  if (!ref) return false;
  return (await b.imageId.imageIdOf(ref, host)) !== null;
}

/**
 * Whether the run image is where its nodes need it: on the Docker host the containers run on (with a
 * registry: the build host, which pushes it), or, for a Kubernetes node's containerd, imported there.
 */
export async function runImageInPlace(
  i: Pick<RunImageInputs, "registry" | "targetHost" | "buildHost">,
  o: { imageId: string; pullRef: string },
): Promise<boolean> {
  const d = b.publish.destinationFor(i);
  if (d.kind === "containerd") {
    return o.pullRef !== "" && (await b.containerd.containerdHas(d.socket, o.pullRef)) && (await imagePresent(o.imageId, i.buildHost));
  }
  return imagePresent(o.imageId, b.publish.runHostOf(d, i.buildHost));
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
export function envHash(env: Record<string, string> | undefined): string {
  return createHash("sha256")
    .update(stableJson(env ?? {}))
    .digest("hex");
}

/** The inputs as a resource stores them: buildEnv values replaced by their hash. */
export function stored<T extends PhaseInputs>(i: T): Stored<T> {
  const { buildEnv, ...rest } = i;
  return { ...rest, buildEnvHash: envHash(buildEnv) };
}

/** Inputs that differ between the stored state and the new inputs (buildEnv by its hash). */
export function changedKeys<T extends PhaseInputs>(olds: Stored<T>, news: T, keys: (keyof T)[]): (keyof T)[] {
  return keys.filter((k) =>
    k === "buildEnv"
      ? olds.buildEnvHash !== envHash(news.buildEnv)
      : stableJson((olds as Record<keyof T, unknown>)[k]) !== stableJson(news[k]),
  );
}

export const COMMON: (keyof PhaseInputs)[] = ["image", "imagesRoot", "baseImages", "buildEnv", "buildHost", "providerVersion"];
