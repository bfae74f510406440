import type { ImageSpec } from "./types";

/**
 * Declares an image. Used as `export default defineImage({...})` in `images/<group>/<name>.ts`;
 * it only gives the object its type, validation happens when the spec is loaded.
 */
export function defineImage(spec: ImageSpec): ImageSpec {
  return spec;
}

export type * from "./types";
