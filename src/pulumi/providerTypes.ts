/** What the image resources take and store: the inputs of each builder phase and its outputs. Types only. */

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
  /** The resource's own URN (`urn` is reserved): its build progress goes to that row of the display. Not diffed. */
  resourceUrn?: string;
}

export interface BuildImageInputs extends PhaseInputs {
  /** Hash of the spec's build part and its inputs folder. */
  buildHash: string;
}
/** What a resource stores: its inputs without the buildEnv values, plus their hash. */
export type Stored<T extends PhaseInputs> = Omit<T, "buildEnv"> & { buildEnvHash: string };

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
