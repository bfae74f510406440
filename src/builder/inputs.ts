import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256, stableJson } from "../common/hash";
import { listFiles } from "./files";

/** Folders inside an image's inputs folder that are never build inputs. */
const EXCLUDED = new Set(["bin", "node_modules", ".git"]);

/** Lists input files (relative paths, sorted) of an image's folder, without bin/. */
export function listInputs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return listFiles(dir, (name) => EXCLUDED.has(name) || name.startsWith(".bin-"));
}

/** Content digest of the inputs: paths, executable bits, contents and link targets. "" when there are none. */
export function digestInputs(dir: string): string {
  const files = listInputs(dir);
  if (files.length === 0) return "";
  return sha256(
    stableJson(
      files.map((f) => {
        const p = join(dir, f);
        const st = lstatSync(p);
        return st.isSymbolicLink() ? [f, "link", readlinkSync(p)] : [f, st.mode & 0o111 ? "x" : "-", sha256(readFileSync(p))];
      }),
    ),
  );
}

/**
 * Copies the inputs (without bin/) to a scratch folder to bind-mount read-only at /cyberinputs,
 * so steps see exactly what was hashed. Returns the folder and a function that removes it.
 */
export function stageInputs(dir: string): { path: string; dispose: () => void } {
  const path = mkdtempSync(join(tmpdir(), "cybernode-inputs-"));
  cpSync(dir, path, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      const rel = src.slice(dir.length + 1);
      const top = rel.split("/")[0];
      return !EXCLUDED.has(top) && !top.startsWith(".bin-");
    },
  });
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}
