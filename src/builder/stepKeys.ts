import type { ResolvedSpec } from "../imageSpec/validate";
import { sha256, stableJson } from "../common/hash";

/** Bumped when the way steps run changes, so old cached step images are not reused. */
export const STEP_RUNNER_VERSION = 1;

export interface PlannedStep {
  /** 1-based step number as shown in logs and errors. */
  index: number;
  command: string;
  /** Content hash of everything that determines this step's result. */
  key: string;
  /** Tag of the committed result, e.g. `cybernode-step/fullnode-btcd:<key>`. */
  tag: string;
}

export interface StepPlanInput {
  spec: ResolvedSpec;
  /** Image ID of the (mapped) base image. */
  baseImageId: string;
  /** Digest of the inputs folder, or "" when no inputs are mounted. */
  inputsDigest: string;
  /** Values of the passEnv variables that are set on the host. */
  passEnv: [string, string][];
}

/** Repository used for build-step images of one spec. */
export function stepRepository(imageName: string): string {
  return `cybernode-step/${imageName.replace("/", "-")}`;
}

/**
 * Cache keys for every build step. Each key chains the previous one (the first chains the base
 * image ID), so a step's key covers its parent's content and all keys are known before Docker is asked:
 * one lookup finds how far the cache reaches.
 */
export function planSteps(input: StepPlanInput): PlannedStep[] {
  const { spec } = input;
  const commands = [...spec.build.steps];
  const version = spec.build.version;
  if ("command" in version) commands.push(versionStep(version.command));
  let parent = `base:${input.baseImageId}`;
  return commands.map((command, i) => {
    const key = sha256(
      stableJson({
        runner: STEP_RUNNER_VERSION,
        parent,
        command,
        env: spec.build.env,
        passEnv: input.passEnv,
        workdir: spec.build.workdir,
        inputs: input.inputsDigest,
        caches: spec.build.caches,
      }),
    );
    parent = key;
    return { index: i + 1, command, key, tag: `${stepRepository(spec.name)}:${key}` };
  });
}

/** Where a `{ command }` version source writes its output in the build image. */
export const VERSION_COMMAND_FILE = "/.cybernode-version";

/** The implicit last step that records the output of a version command. */
export function versionStep(command: string): string {
  return `(${command}) > ${VERSION_COMMAND_FILE}`;
}

/** The file the version string is read from after the build. */
export function versionFile(spec: ResolvedSpec): string {
  const v = spec.build.version;
  return "file" in v ? v.file : VERSION_COMMAND_FILE;
}

/**
 * The part of a spec's build section that its step keys depend on: all of it but what extraction takes
 * (the artifact list, a version file). An edited artifact list then changes the extraction, not the build. Pure.
 */
export function stepsPart(spec: ResolvedSpec): unknown {
  const { artifacts: _artifacts, version, ...rest } = spec.build;
  return { ...rest, version: "command" in version ? version : null };
}

/**
 * What an extraction takes from the build image besides its content (the build key): the artifact paths,
 * the version file and whether shared libraries are bundled. bin/'s manifest records it, so an edited
 * artifact list is extracted again even when every step is cached. Pure.
 */
export function extractionHash(spec: ResolvedSpec): string {
  return sha256(
    stableJson({ artifacts: spec.build.artifacts.map((a) => a.path), versionFile: versionFile(spec), bundleLibs: spec.run.bundleLibs }),
  );
}

/** Index of the first step whose result is not cached (steps.length when all are). */
export function firstMissingStep(steps: PlannedStep[], cachedTags: Set<string>): number {
  const i = steps.findIndex((s) => !cachedTags.has(s.tag));
  return i === -1 ? steps.length : i;
}
