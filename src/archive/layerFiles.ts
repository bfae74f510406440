import { tarLib } from "./tarLib";

/**
 * An image's files as its layers leave them (what a container of it starts with, before Docker adds
 * /.dockerenv, /etc/hosts and the like to the container). Reads layer tars from `docker save`.
 */

export interface LayerEntry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  /** tar's entry type: File, Directory, SymbolicLink, Link, CharacterDevice, … */
  type: string;
  linkpath?: string;
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/** `./usr/bin/` → `usr/bin`. Pure. */
export function cleanPath(p: string): string {
  return p.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
}

const parentOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/**
 * The filesystem the layers make, lowest layer first, sorted by path. A whiteout `.wh.<name>` removes
 * `<name>` (and what is below it) from the layers under it; an opaque marker `.wh..wh..opq` empties its
 * folder of what the layers under it had. Pure.
 */
export function mergeLayers(layers: LayerEntry[][]): LayerEntry[] {
  const files = new Map<string, LayerEntry>();
  const removeBelow = (dir: string, andItself: boolean) => {
    for (const p of files.keys()) if ((andItself && p === dir) || p.startsWith(dir === "" ? "" : `${dir}/`)) files.delete(p);
  };
  for (const layer of layers) {
    const entries = layer.map((e) => ({ ...e, path: cleanPath(e.path) })).filter((e) => e.path !== "");
    // A layer's whiteouts apply to the layers under it, whatever their order in this layer's tar.
    for (const e of entries) {
      const base = baseOf(e.path);
      if (base === OPAQUE) removeBelow(parentOf(e.path), false);
      else if (base.startsWith(WHITEOUT)) {
        const dir = parentOf(e.path);
        removeBelow(`${dir ? `${dir}/` : ""}${base.slice(WHITEOUT.length)}`, true);
      }
    }
    for (const e of entries) if (!baseOf(e.path).startsWith(WHITEOUT)) files.set(e.path, e);
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The entries of one uncompressed layer tar. */
export function layerEntries(layer: Uint8Array): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  return new Promise((resolve, reject) => {
    const parser = new (tarLib().Parser)({
      onReadEntry: (e) => {
        entries.push({
          path: e.path,
          mode: e.mode ?? 0,
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          size: e.size ?? 0,
          mtime: e.mtime ?? new Date(0),
          type: e.type,
          linkpath: e.linkpath || undefined,
        });
        e.resume();
      },
    });
    parser.on("end", () => resolve(entries));
    parser.on("error", reject);
    parser.end(Buffer.from(layer.buffer, layer.byteOffset, layer.byteLength));
  });
}
