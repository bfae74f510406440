import type { ResolvedSpec } from "../imageSpec/validate";
import { sha256 } from "../common/hash";
import { normalizeEntries, writeTar, type TarEntry } from "./tarWriter";

/** A file that goes into the run image, e.g. `cyberapp/btcd` or a bundled `lib/x86_64-linux-gnu/libc.so.6`. */
export interface RunImageFile {
  /** Path inside the image, relative (no leading slash). */
  path: string;
  mode: number;
  data: Uint8Array;
}

/** The parts of a base image (from `docker save`) that go below our layer. */
export interface BaseImage {
  /** The base's image config JSON, parsed. */
  config: ImageConfig;
  /** Its layer tars, bottom first, matching config.rootfs.diff_ids. */
  layers: Uint8Array[];
}

/** The subset of the Docker image config (image spec v1.2) we read and write. */
export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string>;
    /** Durations in nanoseconds, as Docker stores them. */
    Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
  };
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

export interface RunImageInput {
  spec: ResolvedSpec;
  version: string;
  files: RunImageFile[];
  /** Fixed time for mtimes and `created` (SOURCE_DATE_EPOCH, default 0). */
  epochSeconds: number;
  /** Docker's name for the platform, e.g. amd64. */
  architecture: string;
  base?: BaseImage;
}

/** Everything needed to load the run image, computed without Docker. */
export interface RunImagePlan {
  /** `sha256:<hex>` of the config bytes: the image ID Docker (classic store) will report. */
  imageId: string;
  configBytes: Buffer;
  /** Our layer, uncompressed. */
  layer: Buffer;
  diffId: string;
  /** Tags written into manifest.json. */
  repoTags: string[];
  /** The whole docker-archive, ready for `docker load`. */
  archive: Buffer;
}

export const APP_DIR = "cyberapp";
export const DATA_DIR = "cyberdata";

/** Repository of run images, e.g. `cybernode/fullnode-btcd`. */
export function runRepository(imageName: string): string {
  return `cybernode/${imageName.replace("/", "-")}`;
}

/** Docker tags allow [A-Za-z0-9_.-], at most 128 characters, not starting with . or -. */
export function versionTag(version: string): string {
  const t = version
    .replace(/[^A-Za-z0-9_.-]+/g, "_")
    .replace(/^[.-]+/, "")
    .slice(0, 128);
  return t === "" ? "unversioned" : t;
}

/** The entries of our layer: /cyberapp with the files, bundled libraries, /cyberdata owned by the run uid, /tmp. */
export function runImageLayerEntries(uid: number, files: RunImageFile[]): TarEntry[] {
  const entries: TarEntry[] = [
    { type: "dir", path: APP_DIR, mode: 0o755, uid: 0, gid: 0 },
    // Owned by the run uid so a fresh named volume (which copies this directory's ownership) is writable.
    { type: "dir", path: DATA_DIR, mode: 0o755, uid, gid: uid },
    { type: "dir", path: "tmp", mode: 0o1777, uid: 0, gid: 0 },
  ];
  for (const f of files) {
    if (f.path.startsWith("/") || f.path.split("/").includes("..")) throw new Error(`internal: bad run image path ${f.path}`);
    // Never carry setuid/setgid/sticky bits from build output into the run image.
    entries.push({ type: "file", path: f.path, mode: f.mode & 0o777, uid: 0, gid: 0, data: f.data });
  }
  return normalizeEntries(entries);
}

function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The image config: ours over the base's, in a fixed key order so the bytes are deterministic. */
export function runImageConfig(input: RunImageInput, diffId: string): ImageConfig {
  const { spec, version, base } = input;
  const created = isoTime(input.epochSeconds);
  const b = base?.config.config ?? {};
  const env = new Map<string, string>();
  for (const kv of b.Env ?? []) {
    const i = kv.indexOf("=");
    env.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? "" : kv.slice(i + 1));
  }
  for (const [k, v] of spec.run.env) env.set(k, v);
  const ports: Record<string, object> = { ...(b.ExposedPorts ?? {}) };
  for (const p of spec.run.ports) ports[`${p.port}/${p.protocol}`] = {};
  const labels: Record<string, string> = { ...(b.Labels ?? {}) };
  for (const [k, v] of spec.run.labels) labels[k] = v;
  labels.version = version;
  labels["org.opencontainers.image.version"] = version;
  labels["org.opencontainers.image.created"] = created;
  labels["org.opencontainers.image.title"] = spec.name;
  if (spec.run.source) labels["org.opencontainers.image.source"] = spec.run.source;
  if (spec.run.revision) labels["org.opencontainers.image.revision"] = spec.run.revision;
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));

  const config: NonNullable<ImageConfig["config"]> = {
    User: `${spec.run.uid}:${spec.run.uid}`,
    ExposedPorts: sorted(ports),
    Env: [...env.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${k}=${v}`),
    Entrypoint: spec.run.entrypoint,
    Cmd: spec.run.cmd.length > 0 ? spec.run.cmd : null,
    WorkingDir: `/${DATA_DIR}`,
    Volumes: sorted({ ...(b.Volumes ?? {}), [`/${DATA_DIR}`]: {} }),
    Labels: sorted(labels),
  };
  if (Object.keys(config.ExposedPorts ?? {}).length === 0) delete config.ExposedPorts;
  // Only specs that declare a check get the key, so images of the others keep their IDs.
  const h = spec.run.health;
  if (h) {
    const ns = (s: number) => s * 1e9;
    config.Healthcheck = {
      Test: ["CMD", ...h.command],
      Interval: ns(h.interval),
      Timeout: ns(h.timeout),
      StartPeriod: ns(h.startPeriod),
      Retries: h.retries,
    };
  }
  return {
    architecture: base?.config.architecture ?? input.architecture,
    os: "linux",
    created,
    config,
    rootfs: { type: "layers", diff_ids: [...(base?.config.rootfs.diff_ids ?? []), diffId] },
    history: [
      ...(base?.config.history ?? []),
      { created, created_by: `cybernode-images: ${spec.name} ${version}`, comment: "binaries in /cyberapp, data in /cyberdata" },
    ],
  };
}

/**
 * Plans the run image completely in memory: layer tar, config, docker-archive and the image ID.
 * Same inputs give the same bytes, and so the same ID.
 */
export function planRunImage(input: RunImageInput): RunImagePlan {
  if (input.base && input.base.layers.length !== input.base.config.rootfs.diff_ids.length) {
    throw new Error(
      `run.base of ${input.spec.name}: the saved base has ${input.base.layers.length} layers but its config lists ${input.base.config.rootfs.diff_ids.length}`,
    );
  }
  const mtime = new Date(input.epochSeconds * 1000);
  const layer = writeTar(runImageLayerEntries(input.spec.run.uid, input.files), mtime);
  const diffId = `sha256:${sha256(layer)}`;
  const configBytes = Buffer.from(JSON.stringify(runImageConfig(input, diffId)));
  const configHex = sha256(configBytes);
  const repo = runRepository(input.spec.name);
  const repoTags = [`${repo}:${versionTag(input.version)}`, `${repo}:latest`];

  const layers = [...(input.base?.layers ?? []), layer];
  const diffIds = [...(input.base?.config.rootfs.diff_ids ?? []), diffId];
  const layerPaths = diffIds.map((d) => `${d.replace(/^sha256:/, "")}/layer.tar`);
  const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: repoTags, Layers: layerPaths }]));
  const entries: TarEntry[] = [
    { type: "file", path: `${configHex}.json`, mode: 0o644, uid: 0, gid: 0, data: configBytes },
    { type: "file", path: "manifest.json", mode: 0o644, uid: 0, gid: 0, data: manifest },
  ];
  const seen = new Set<string>();
  layers.forEach((data, i) => {
    if (seen.has(layerPaths[i])) return; // a base may repeat an identical (e.g. empty) layer
    seen.add(layerPaths[i]);
    entries.push({ type: "file", path: layerPaths[i], mode: 0o644, uid: 0, gid: 0, data });
  });
  const archive = writeTar(normalizeEntries(entries), mtime);
  return { imageId: `sha256:${configHex}`, configBytes, layer, diffId, repoTags, archive };
}
