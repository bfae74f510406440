import { tarLib } from "./tarLib";

/** One entry of a tar we write. Paths are relative (`cyberapp/btcd`), directories without a trailing slash. */
export type TarEntry =
  | { type: "dir"; path: string; mode: number; uid: number; gid: number }
  | { type: "file"; path: string; mode: number; uid: number; gid: number; data: Uint8Array }
  | { type: "symlink"; path: string; mode: number; uid: number; gid: number; linkpath: string };

const BLOCK = 512;

/**
 * Writes a tar deterministically: entries in the order given (callers sort them), one fixed mtime,
 * no user/group names, no atime/ctime. Long names get a PAX header, as GNU tar and Docker accept.
 */
export function writeTar(entries: TarEntry[], mtime: Date): Buffer {
  const chunks: Buffer[] = [];
  for (const e of entries) {
    const path = e.type === "dir" ? `${e.path}/` : e.path;
    const size = e.type === "file" ? e.data.length : 0;
    const data = {
      path,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size,
      mtime,
      type: e.type === "dir" ? "Directory" : e.type === "file" ? "File" : "SymbolicLink",
      linkpath: e.type === "symlink" ? e.linkpath : undefined,
      uname: "",
      gname: "",
    } as const;
    const { Header, Pax } = tarLib();
    const header = new Header(data);
    if (header.encode()) {
      // Path or link too long for the ustar fields: prepend a PAX extended header.
      chunks.push(new Pax({ path, linkpath: data.linkpath, mtime }).encode());
    }
    chunks.push(header.block as Buffer);
    if (e.type === "file" && size > 0) {
      chunks.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad) chunks.push(Buffer.alloc(pad));
    }
  }
  chunks.push(Buffer.alloc(BLOCK * 2)); // end-of-archive marker
  return Buffer.concat(chunks);
}

/** Sorts entries by path as byte strings and adds missing parent directories (mode 0755, root). */
export function normalizeEntries(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    if (byPath.has(e.path)) throw new Error(`internal: two layer entries for ${e.path}`);
    byPath.set(e.path, e);
  }
  for (const e of entries) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!byPath.has(dir)) byPath.set(dir, { type: "dir", path: dir, mode: 0o755, uid: 0, gid: 0 });
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}
