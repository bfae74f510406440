import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../imageSpec/errors";
import { listSpecNames, loadSpec } from "../imageSpec/load";
import type { ResolvedSpec } from "../imageSpec/validate";

/** The image specs a stack can use, by name, with the folder each came from. */
export type Catalogue = Map<string, { spec: ResolvedSpec; root: string }>;

/**
 * Reads `cybernode:imagesDirs` (folders relative to the project, default ["images"]) before the rest
 * of the config is validated, because node entries are checked against the specs found there.
 */
export function imagesDirsFromConfig(raw: unknown, stackFile: string): string[] {
  if (raw === undefined) return ["images"];
  let v: unknown = raw;
  if (typeof raw === "string") {
    try {
      v = raw.trim().startsWith("[") ? JSON.parse(raw) : [raw];
    } catch {
      v = undefined;
    }
  }
  if (!Array.isArray(v) || v.length === 0 || v.some((d) => typeof d !== "string" || d === "" || d.split("/").includes(".."))) {
    throw new InputError(`stack file ${stackFile}`, [
      'cybernode:imagesDirs: must be a list of spec folders inside the project, e.g. ["images", "tests/fixtures/images"]',
    ]);
  }
  return v as string[];
}

/** Loads every spec in the folders; the same name in two folders is an error. */
export function loadCatalogue(projectDir: string, dirs: string[], stackFile: string): Catalogue {
  const cat: Catalogue = new Map();
  for (const d of dirs) {
    const root = resolve(projectDir, d);
    if (!existsSync(root))
      throw new InputError(`stack file ${stackFile}`, [`cybernode:imagesDirs: folder ${d} does not exist in ${projectDir}`]);
    for (const name of listSpecNames(root)) {
      const other = cat.get(name);
      if (other)
        throw new InputError(`stack file ${stackFile}`, [
          `cybernode:imagesDirs: image ${name} is defined in both ${other.root} and ${root}`,
        ]);
      cat.set(name, { spec: loadSpec(root, name).spec, root });
    }
  }
  return cat;
}
