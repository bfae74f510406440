import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../imageSpec/errors";
import { imageIdOf } from "../docker/imageId";
import { currentDockerHost, runDocker } from "../docker/cli";

/**
 * Base-image mapping for air-gapped hosts and tests: the image a spec names (`golang:1.26-bookworm`)
 * → an image present on the Docker host. Read from, each over the one before: the machine's file
 * (/etc/cybernode/base-images.json, for an operator who maps bases once for every checkout), the
 * project's file (`cybernode.base-images.json`, or CYBERNODE_BASE_IMAGES_FILE), and CYBERNODE_BASE_IMAGES
 * ("from=to,from=to"). A Pulumi stack's `cybernode:baseImages` goes on top of these. A base that is neither
 * on the host nor mapped is pulled by builds (resolveBaseImage).
 */
export type BaseImageMap = Map<string, string>;

export const BASE_MAP_ENV = "CYBERNODE_BASE_IMAGES";
export const BASE_MAP_FILE_ENV = "CYBERNODE_BASE_IMAGES_FILE";
export const DEFAULT_BASE_MAP_FILE = "cybernode.base-images.json";
export const MACHINE_BASE_MAP_FILE = "/etc/cybernode/base-images.json";

/** Parses "from=to,from=to" (whitespace or commas between pairs). Pure. */
export function parseBaseImageMap(text: string, where = BASE_MAP_ENV): BaseImageMap {
  const map: BaseImageMap = new Map();
  for (const pair of text.split(/[,\s]+/).filter(Boolean)) {
    const i = pair.indexOf("=");
    if (i <= 0 || i === pair.length - 1)
      throw new InputError(where, [`'${pair}' is not from=to (e.g. golang:1.26-bookworm=my/golang:local)`]);
    map.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return map;
}

/** Parses a mapping file's text ({ "from": "to" }); `file` names it in errors. Pure. */
export function parseBaseImageFile(text: string, file: string): BaseImageMap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, [`not valid JSON: ${(e as Error).message}`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new InputError(file, ['must be a JSON object { "golang:1.26-bookworm": "local/golang:1.26" }']);
  const map: BaseImageMap = new Map();
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "string" || v === "") throw new InputError(file, [`"${k}" must map to an image name`]);
    map.set(k, v);
  }
  return map;
}

export interface MappingSources {
  /** Folder whose cybernode.base-images.json is read (default: the working directory). */
  projectDir?: string;
  /** The machine-wide file (default MACHINE_BASE_MAP_FILE; tests point it elsewhere). */
  machineFile?: string;
}

/** The mapping in force for this process: the machine's file, the project's file, then the env var on top. */
export function baseImageMapFromEnv(env: NodeJS.ProcessEnv = process.env, from: MappingSources = {}): BaseImageMap {
  const map: BaseImageMap = new Map();
  const machine = from.machineFile ?? MACHINE_BASE_MAP_FILE;
  if (existsSync(machine)) for (const [k, v] of parseBaseImageFile(readFileSync(machine, "utf8"), machine)) map.set(k, v);
  const file = env[BASE_MAP_FILE_ENV] ? resolve(env[BASE_MAP_FILE_ENV]) : resolve(from.projectDir ?? ".", DEFAULT_BASE_MAP_FILE);
  if (existsSync(file)) {
    for (const [k, v] of parseBaseImageFile(readFileSync(file, "utf8"), file)) map.set(k, v);
  } else if (env[BASE_MAP_FILE_ENV]) {
    throw new InputError(BASE_MAP_FILE_ENV, [`file ${file} does not exist`]);
  }
  for (const [k, v] of parseBaseImageMap(env[BASE_MAP_ENV] ?? "")) map.set(k, v);
  return map;
}

/**
 * The entries of a mapping that concern these bases (a spec's build.from and run.base), so that an
 * edit to another image's entry changes no input of this one. Pure.
 */
export function mappingFor(bases: string[], map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(bases.filter((b) => map[b] !== undefined).map((b) => [b, map[b]]));
}

export interface ResolvedBase {
  /** As written in the spec. */
  requested: string;
  /** What is used on the host (the mapping target, or the same name). */
  local: string;
  /** `sha256:...` */
  id: string;
}

/** A base that is not on the Docker host and was not pulled (a preview, or a lookup that may not pull). */
export class BaseImageMissing extends InputError {
  constructor(
    imageName: string,
    readonly field: string,
    readonly local: string,
    problem: string,
  ) {
    super(`image ${imageName}`, [problem]);
  }
}

const MAP_SOURCES = `${BASE_MAP_ENV}, ${DEFAULT_BASE_MAP_FILE}, ${MACHINE_BASE_MAP_FILE} or a stack's cybernode:baseImages`;

/** How to map a base that cannot be pulled. Pure. */
function mapAdvice(requested: string, local: string): string {
  return local === requested
    ? `Where no registry is reachable, map it to an image this host has: ${BASE_MAP_ENV}='${requested}=<local image>' or an entry in ${MAP_SOURCES}`
    : `It is mapped to '${local}': build or load '${local}' on this host, or fix the mapping (${MAP_SOURCES})`;
}

/**
 * Finds the base on the Docker host. A missing one is pulled when `pull` is set (builds do, as
 * `docker build` would), once per process; otherwise (previews) it is a BaseImageMissing naming the spec,
 * field and base. A pull that fails says which image and how to map it.
 */
export async function resolveBaseImage(
  imageName: string,
  field: string,
  requested: string,
  map: BaseImageMap,
  o: { pull?: boolean; log?: (line: string) => void } = {},
): Promise<ResolvedBase> {
  const local = map.get(requested) ?? requested;
  const id = await imageIdOf(local);
  if (id) return { requested, local, id };
  if (!o.pull)
    throw new BaseImageMissing(
      imageName,
      field,
      local,
      `${field}: base image '${local}' is not on the Docker host: a build pulls it (docker pull ${local}). ${mapAdvice(requested, local)}.`,
    );
  const pulled = await pullOnce(local, o.log ?? (() => {}), imageName);
  if (pulled.id) return { requested, local, id: pulled.id };
  throw new InputError(`image ${imageName}`, [
    `${field}: base image '${local}' is not on the Docker host, and docker pull ${local} failed: ${pulled.error}. ${mapAdvice(requested, local)}.`,
  ]);
}

/** One pull per image name and host in this process, whoever asks (images sharing a base). */
const pulls = new Map<string, Promise<{ id: string | null; error: string }>>();

function pullOnce(local: string, log: (line: string) => void, imageName: string): Promise<{ id: string | null; error: string }> {
  const key = `${currentDockerHost()}\n${local}`;
  let p = pulls.get(key);
  if (!p) {
    log(`[${imageName}] pulling ${local}: it is not on the Docker host`);
    p = (async () => {
      const r = await runDocker(["pull", local], { timeoutMs: 30 * 60_000 });
      const id = r.exitCode === 0 ? await imageIdOf(local) : null;
      const error = r.stderr.trim().split("\n").pop() || `exit code ${r.exitCode}`;
      return { id, error };
    })();
    pulls.set(key, p);
    // A failed pull is not remembered: the next build asks again.
    p.then((r) => r.id || pulls.delete(key));
  }
  return p;
}
