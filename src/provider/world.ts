import type { BinManifest } from "../builder/manifest";
import type { BinariesInputs, BuildImageInputs, PhaseInputs, RunImageInputs } from "./types";

/**
 * Everything the image resources (BuildImage, Binaries, RunImage) ask of the world, passed in rather
 * than imported, so their decisions (check, diff, read, what create/update store) run in unit tests
 * against a fake. The engine-backed World is engineWorld.ts; it owns the per-process lookup caches.
 */
export interface World {
  /** The environment builds see before a stack's buildEnv is laid over it. */
  readonly env: NodeJS.ProcessEnv;
  /** Image ID of a tag or ID on a Docker host ("" = this machine's default), null when absent. */
  imageIdOf(ref: string, host: string): Promise<string | null>;
  /** Like imageIdOf for base images: asked once per engine run, as many images share a base. */
  baseImageIdOf(ref: string, host: string): Promise<string | null>;
  /** Whether the containerd at `socket` has `ref` (a Kubernetes node's image store). */
  containerdHas(socket: string, ref: string): Promise<boolean>;
  /** bin/'s manifest when bin/ holds exactly what this build key and extraction make, else null. */
  currentManifest(binDir: string, buildKey: string, extraction: string): BinManifest | null;
  /** A line in the preview's (or update's) diagnostics for this resource. */
  tell(urn: string | undefined, message: string): Promise<void>;
  /**
   * The build an image would run now (its spec loaded, base looked up without pulling); null when the
   * base is not on the build host, which `up` pulls (told through `tell`).
   */
  planBuild(i: PhaseInputs, urn?: string): Promise<PlannedBuild | null>;
  /** Runs the build steps (cached ones are free) and writes bin/ from the last one. */
  build(i: BuildImageInputs, urn?: string): Promise<BuildDone>;
  /** Extracts the binaries of the build to bin/. */
  extract(i: BinariesInputs, urn?: string): Promise<{ buildKey: string; manifest: BinFiles }>;
  /** Assembles the run image from bin/ and puts it where the nodes need it. */
  assemble(i: RunImageInputs, urn?: string): Promise<AssembleDone>;
}

export interface BinFiles {
  version: string;
  files: { path: string; size: number; sha256: string }[];
}

export interface PlannedBuild {
  buildKey: string;
  buildTag: string;
  /** The image's bin/ folder and what its extraction takes (plan/steps.ts extractionHash). */
  binDir: string;
  extraction: string;
  /** The run image ID that assembling these binaries would give, without loading anything. */
  predictRunImageId(manifest: BinManifest): Promise<string>;
}

export interface BuildDone {
  buildKey: string;
  buildTag: string;
  baseImageId: string;
  stepsRun: number;
  baseRef: string;
  passEnvNames: string[];
}

export interface AssembleDone {
  imageId: string;
  version: string;
  tags: string[];
  shippedBytes: number;
  pullRef: string;
  configDigest: string;
}
