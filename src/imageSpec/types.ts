/**
 * The shape of an image spec as written in `images/<group>/<name>.ts`.
 * Everything here is plain data so specs can be validated, hashed and planned without Docker.
 */

/** How the version string of the built software is found. */
export type VersionSource =
  /** A file written by the build steps, read from the final build image. */
  | { file: string }
  /** A shell command run in the final build image; its trimmed stdout is the version. */
  | { command: string };

export interface BuildSpec {
  /** Toolchain base image as users name it (e.g. `golang:1.26-bookworm`); may be mapped to a local image. */
  from: string;
  /** Environment for every build step. Part of the step cache key. */
  env?: Record<string, string>;
  /**
   * Names of host environment variables passed into build steps when set (e.g. GOPROXY, GOFLAGS).
   * Their values are part of the cache key but never stored in image config.
   */
  passEnv?: string[];
  /** Shell commands (run with `sh -e`), one container and one commit each. */
  steps: string[];
  /** Working directory of the steps inside the build container. Default `/`. */
  workdir?: string;
  /**
   * Named cache volumes: container path → cache name. They persist across builds
   * (Docker volume `cybernode-cache-<name>`) and are never part of the committed image.
   */
  caches?: Record<string, string>;
  /**
   * Mount the spec's inputs folder (`images/<group>/<name>/`, without bin/) read-only at
   * `/cyberinputs`. Default: true when that folder has files.
   */
  inputs?: boolean;
  /** Absolute paths of files or folders in the final build image to extract into bin/. */
  artifacts: string[];
  /** Where the version string comes from. */
  version: VersionSource;
}

export type PortProtocol = "tcp" | "udp";
/** A port as `8333`, `"8333"`, or `"8333/udp"`. */
export type PortSpec = number | string;

export interface RunSpec {
  /** `scratch` (default) or an image whose layers and config go below ours. */
  base?: string;
  /** Absolute path of the program and its fixed flags, e.g. ["/cyberapp/btcd", "--datadir=/cyberdata"]. */
  entrypoint: string[];
  /** Default arguments after the entrypoint. */
  cmd?: string[];
  /** Extra environment. HOME=/cyberdata is set unless given here. */
  env?: Record<string, string>;
  /** Ports the node listens on (EXPOSE). */
  ports?: PortSpec[];
  /** Numeric uid (and gid) the node runs as. Default 1000. */
  uid?: number;
  /** Extra image labels. `version` and `org.opencontainers.image.*` are added by the builder. */
  labels?: Record<string, string>;
  /** Bundle the shared libraries of dynamically linked artifacts so they run in scratch. */
  bundleLibs?: boolean;
  /** Project source URL for the `org.opencontainers.image.source` label. */
  source?: string;
  /** Source revision (tag or commit) of the software, for `org.opencontainers.image.revision`. */
  revision?: string;
  /**
   * How Docker checks that the node is healthy: a program of the image run inside the container (no shell,
   * absolute path), e.g. ["/cyberapp/btcctl", "-C", "/cyberdata/rpc.conf", "getblockcount"]. Written into
   * the run image config; a node may override it. Specs without it keep their image IDs.
   */
  health?: HealthSpec;
}

export interface HealthSpec {
  /** Program and arguments; exit 0 = healthy. */
  command: string[];
  /** Seconds between checks. Default 30. */
  interval?: number;
  /** Seconds a check may take. Default 10. */
  timeout?: number;
  /** Failed checks in a row before the container is unhealthy. Default 3. */
  retries?: number;
  /** Seconds after start during which failures do not count (loading the chain). Default 60. */
  startPeriod?: number;
}

export type RestartPolicy = "no" | "always" | "unless-stopped" | `on-failure${"" | `:${number}`}`;

export interface ContainerPort {
  /** Port inside the container. */
  port: number;
  /** Port on the host. Default: same as `port`. */
  hostPort?: number;
  /** Address on the host. Default 0.0.0.0 (public); RPC ports should use 127.0.0.1. */
  bind?: string;
  protocol?: PortProtocol;
}

export interface ContainerDefaults {
  /** Short container name, e.g. `btcd`. */
  name: string;
  /** Docker restart policy. Default `always`. */
  restart?: RestartPolicy;
  ports?: ContainerPort[];
  /** Arguments appended after the image's entrypoint. */
  args?: string[];
  /** Signal that asks the daemon to shut down cleanly. Default SIGTERM. */
  stopSignal?: string;
  /**
   * Seconds the daemon gets to flush its databases after stopSignal before Docker sends SIGKILL, on
   * `docker stop`, replacements and `pulumi destroy`. Default 60.
   */
  stopGrace?: number;
  /** What `npx cybernode status` asks the node. */
  status?: StatusSpec;
  /**
   * Files created once in the node's data folder (mode 0600, owned by the run uid), e.g. RPC credentials:
   * name → text where each `${random}` becomes 64 random hex characters generated on the host. Never in
   * images, labels or Pulumi state; delete the file to get a new one.
   */
  secretFiles?: Record<string, string>;
  /**
   * Files the args read from /cybersecrets, made by a stack's shared secret (`cybernode:sharedSecrets`),
   * e.g. `["jwt.hex"]` for geth's Engine API secret. A node of this image without one is refused.
   */
  sharedSecretFiles?: string[];
  /**
   * What the stack values a node's args may use as `${config:key}` mean: key → one line of help, shown
   * when a stack uses the key without setting it (e.g. the checkpoint sync URL of a beacon node).
   */
  settings?: Record<string, string>;
}

export interface StatusSpec {
  /** The RPC port (one of run.ports) the status command talks to inside the container. */
  rpcPort: number;
  /** Program run with `docker exec` in the node; the last whole number it prints is the chain height. */
  height: string[];
}

export interface ImageSpec {
  /** Free text shown by `cybernode images`. */
  description?: string;
  build: BuildSpec;
  run: RunSpec;
  container: ContainerDefaults;
}
