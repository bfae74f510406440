import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../spec/errors";
import { imageIdOf } from "../docker/imageId";

/**
 * Base-image mapping for air-gapped hosts and tests: the image a spec names (`golang:1.26-bookworm`)
 * → an image present on the Docker host. From CYBERNODE_BASE_IMAGES ("from=to,from=to") and/or a JSON
 * file (`cybernode.base-images.json` in the project, or CYBERNODE_BASE_IMAGES_FILE) of { "from": "to" }.
 * The env var wins over the file. Nothing is ever pulled.
 */
export type BaseImageMap = Map<string, string>;

export const BASE_MAP_ENV = "CYBERNODE_BASE_IMAGES";
export const BASE_MAP_FILE_ENV = "CYBERNODE_BASE_IMAGES_FILE";
export const DEFAULT_BASE_MAP_FILE = "cybernode.base-images.json";

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

/** The mapping in force for this process: file first, then the env var on top. */
export function baseImageMapFromEnv(env: NodeJS.ProcessEnv = process.env): BaseImageMap {
  const map: BaseImageMap = new Map();
  const file = env[BASE_MAP_FILE_ENV] ? resolve(env[BASE_MAP_FILE_ENV]) : resolve(DEFAULT_BASE_MAP_FILE);
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new InputError(file, [`not valid JSON: ${(e as Error).message}`]);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new InputError(file, ['must be a JSON object { "golang:1.26-bookworm": "local/golang:1.26" }']);
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== "string" || v === "") throw new InputError(file, [`"${k}" must map to an image name`]);
      map.set(k, v);
    }
  } else if (env[BASE_MAP_FILE_ENV]) {
    throw new InputError(BASE_MAP_FILE_ENV, [`file ${file} does not exist`]);
  }
  for (const [k, v] of parseBaseImageMap(env[BASE_MAP_ENV] ?? "")) map.set(k, v);
  return map;
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
      ? `Pull it (docker pull ${requested}), or map it to an image this host has: ${BASE_MAP_ENV}='${requested}=<local image>' or an entry in ${DEFAULT_BASE_MAP_FILE}`
      : `It is mapped to '${local}', which this host does not have either: build or load '${local}', or fix the mapping (${BASE_MAP_ENV} / ${DEFAULT_BASE_MAP_FILE})`;
  throw new InputError(`image ${imageName}`, [
    `${field}: base image '${requested}' is not on the Docker host. ${how}. Nothing is pulled automatically.`,
  ]);
}
