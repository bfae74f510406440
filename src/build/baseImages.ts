import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../spec/errors";
import { imageIdOf } from "../docker/imageId";

/**
 * Base-image mapping for air-gapped hosts and tests: the image a spec names (`golang:1.26-bookworm`)
 * → an image present on the Docker host. Read from, each over the one before: the machine's file
 * (/etc/cybernode/base-images.json, for an operator who maps bases once for every checkout), the
 * project's file (`cybernode.base-images.json`, or CYBERNODE_BASE_IMAGES_FILE), and CYBERNODE_BASE_IMAGES
 * ("from=to,from=to"). A Pulumi stack's `cybernode:baseImages` goes on top of these. Nothing is ever pulled.
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

/** Finds the base on the Docker host. Missing → an error naming the spec, field, base and the mapping option. */
export async function resolveBaseImage(imageName: string, field: string, requested: string, map: BaseImageMap): Promise<ResolvedBase> {
  const local = map.get(requested) ?? requested;
  const id = await imageIdOf(local);
  if (id) return { requested, local, id };
  const how =
    local === requested
      ? `Pull it (docker pull ${requested}), or map it to an image this host has: ${BASE_MAP_ENV}='${requested}=<local image>' or an entry in ${DEFAULT_BASE_MAP_FILE}, ${MACHINE_BASE_MAP_FILE} or a stack's cybernode:baseImages`
      : `It is mapped to '${local}', which this host does not have either: build or load '${local}', or fix the mapping (${BASE_MAP_ENV}, ${DEFAULT_BASE_MAP_FILE}, ${MACHINE_BASE_MAP_FILE} or cybernode:baseImages)`;
  throw new InputError(`image ${imageName}`, [
    `${field}: base image '${requested}' is not on the Docker host. ${how}. Nothing is pulled automatically.`,
  ]);
}
