import { createHash } from "node:crypto";
import { STEP_RUNNER_VERSION } from "../builder/stepKeys";
import { stableJson } from "../common/hash";
import type { PhaseInputs, Stored } from "./types";

/** What the image providers share, all pure: how inputs are stored and compared, and the hashes state keeps. */

/** What a build key covers beyond the spec and its inputs, besides the base image ID. Pure. */
export function planHash(passEnv: [string, string][]): string {
  return createHash("sha256")
    .update(stableJson({ runner: STEP_RUNNER_VERSION, passEnv }))
    .digest("hex");
}

/** The engine's placeholder for a value not known until an earlier resource is updated (previews). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

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
