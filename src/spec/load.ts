import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { InputError } from "./errors";
import { validateSpec, type ResolvedSpec } from "./validate";

/** A spec and where it lives on disk. */
export interface LoadedSpec {
  spec: ResolvedSpec;
  /** `images/<group>/<name>.ts` */
  file: string;
  /** `images/<group>/<name>/`: read-only build inputs and the bin/ folder. */
  dir: string;
}

/** The images folder: `--images DIR`, else CYBERNODE_IMAGES, else `./images`. */
export function imagesRoot(explicit?: string): string {
  return resolve(explicit ?? process.env.CYBERNODE_IMAGES ?? "images");
}

/** Names (`group/name`) of all specs under root, sorted. */
export function listSpecNames(root: string): string[] {
  if (!existsSync(root)) return [];
  const names: string[] = [];
  for (const group of readdirSync(root).sort()) {
    const gdir = join(root, group);
    if (!statSync(gdir).isDirectory()) continue;
    for (const f of readdirSync(gdir).sort()) {
      if (f.endsWith(".ts") && !f.endsWith(".d.ts") && statSync(join(gdir, f)).isFile()) names.push(`${group}/${f.slice(0, -3)}`);
    }
  }
  return names;
}

/** Loads and validates one spec (a TypeScript module, loaded through tsx). */
export function loadSpec(root: string, name: string): LoadedSpec {
  const file = join(root, `${name}.ts`);
  if (!existsSync(file)) {
    const known = listSpecNames(root);
    throw new InputError(`image ${name}`, [
      `unknown image: no spec file ${file}. Known images: ${known.length ? known.join(", ") : "(none)"}`,
    ]);
  }
  // Specs are TypeScript modules: the CLI and the tests register tsx at start-up, the provider plugin on
  // its first spec (a no-op when registered). A long-lived process (the Automation API, a watch loop)
  // must see an edited spec, not the cached one.
  require("tsx/cjs");
  delete require.cache[file];
  const mod = require(file) as { default?: unknown };
  const spec = validateSpec(name, mod.default ?? mod);
  return { spec, file, dir: join(root, name) };
}
