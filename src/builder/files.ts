import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Files (and links) under dir as sorted relative paths, folders walked; top-level entries for which
 * `skipTop` says true are left out (bin/ for inputs, MANIFEST.json and VERSION for bin/).
 */
export function listFiles(dir: string, skipTop: (name: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      if (!rel && skipTop(name)) continue;
      const r = rel ? `${rel}/${name}` : name;
      if (lstatSync(join(dir, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out;
}
