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
  let mod: Record<string, unknown>;
  try {
    mod = require(file) as Record<string, unknown>;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND";
    throw new InputError(`image ${name}`, [
      `${file} could not be loaded: ${loadFailure(e)}.${missing ? " Imports are relative to the spec file: images/<group>/<name>.ts imports defineImage from '../../src/imageSpec/define'." : ""} Fix the file and build again (CYBERNODE_DEBUG=1 shows the stack trace).`,
    ]);
  }
  if (mod.default === undefined && !("build" in mod)) {
    const named = Object.keys(mod);
    throw new InputError(`image ${name}`, [
      `${file} has no default export${named.length ? ` (it exports ${named.join(", ")})` : ""}: write the spec as \`export default defineImage({ ... })\``,
    ]);
  }
  const spec = validateSpec(name, mod.default ?? mod);
  return { spec, file, dir: join(root, name) };
}

/** The useful lines of a module's load error: the message, without Node's "Require stack" list. Pure. */
export function loadFailure(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const lines = message.split("\n");
  const end = lines.findIndex((l) => l.startsWith("Require stack:"));
  return (end === -1 ? lines : lines.slice(0, end))
    .map((l) => l.trim())
    .filter((l) => l && !/^Transform failed with \d+ errors?:$/.test(l))
    .slice(0, 4)
    .join("; ");
}
