/** What the plugin's resources take and store: the inputs of each builder phase and its outputs. Types only. */

// biome-ignore lint/suspicious/noExplicitAny: property bags as the engine sends them; each resource types its own
type Props = any;

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface DiffResult {
  changes?: boolean;
  replaces?: string[];
  stables?: string[];
  deleteBeforeReplace?: boolean;
}

/**
 * One resource type of the provider plugin (src/provider/): Pulumi's CRUD contract with plain
 * property bags (secrets unwrapped) and the resource's URN last, for progress and diagnostics.
 */
export interface ResourceOps {
  /** Validates; the plugin hands the inputs back to the engine as they were sent (secrets wrapped). */
  check?(olds: Props, news: Props, urn?: string): Promise<{ failures?: CheckFailure[] }>;
  diff?(id: string, olds: Props, news: Props, urn?: string): Promise<DiffResult>;
  create(inputs: Props, urn?: string): Promise<{ id: string; outs?: Props }>;
  read?(id: string, props: Props, urn?: string): Promise<{ id?: string; props?: Props }>;
  update?(id: string, olds: Props, news: Props, urn?: string): Promise<{ outs?: Props }>;
  delete?(id: string, props: Props, urn?: string): Promise<void>;
}

/** Bump when the providers' behaviour changes, so `pulumi preview` shows the change on every image. */
export const PROVIDER_VERSION = "4";

/**
 * The plugin's `providerVersion` function: its PROVIDER_VERSION. The program calls it first thing, so that
 * the engine starts the plugin (Node and its bundle) while the program reads the specs, not after.
 */
export const PROVIDER_VERSION_TOKEN = "cybernode-images:index:providerVersion";

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
  /** Hash of what the step keys take from the spec's build part (plan/steps.ts stepsPart) and its inputs folder. */
  buildHash: string;
}
/** What a resource stores: its inputs without the buildEnv values, plus their hash. */
export type Stored<T extends PhaseInputs> = Omit<T, "buildEnv"> & { buildEnvHash: string };

export interface BuildImageOutputs extends Stored<BuildImageInputs> {
  buildKey: string;
  buildTag: string;
  baseImageId: string;
  stepsRun: number;
  /**
   * What the build key depends on beyond buildHash, so that a diff can tell whether it still holds
   * without loading the spec (absent in state written before): the base's local name, the passEnv names,
   * and planHash over the step runner's version and the values passed through.
   */
  baseRef?: string;
  passEnvNames?: string[];
  planHash?: string;
}

export interface BinariesInputs extends PhaseInputs {
  /** From the BuildImage resource: the build image the binaries come from. */
  buildKey: string;
  /** What is taken from it: artifact paths, version file, libraries (plan/steps.ts extractionHash). */
  extraction: string;
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
