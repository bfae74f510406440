import type { TarEntry } from "../archive/tarWriter";

/**
 * A stack's shared secret on a Docker or Podman host (`cybernode:sharedSecrets`): one file in a folder
 * of its own beside the nodes' data folders, `<dataRoot>/.secrets/<name>/<file>` (folder 0700, file 0600,
 * owned by the node uid), bind-mounted read-only at /cybersecrets/<file> into the nodes that list it.
 * Pure: where it lives, what is written, and what a preview concludes from what the host has.
 */

/** The folder that holds one shared secret. Node names cannot start with '.', so it never is a node's. */
export function sharedSecretDir(dataRoot: string, name: string): string {
  return `${dataRoot === "/" ? "" : dataRoot}/.secrets/${name}`;
}

/** The archive the engine extracts: the secret's folder and its file, owned by the uid. */
export function sharedSecretEntries(below: string, uid: number, file: string, text: string): TarEntry[] {
  return [
    { type: "dir", path: below, mode: 0o700, uid, gid: uid },
    { type: "file", path: `${below}/${file}`, mode: 0o600, uid, gid: uid, data: Buffer.from(text) },
  ];
}

const octal = (header: string, at: number, len: number) =>
  Number.parseInt(
    header
      .slice(at, at + len)
      .replace(/\0.*$/s, "")
      .trim(),
    8,
  );

/**
 * "mtime:size" of the first file in a tar stream (what `docker cp <c>:<file> -` prints), which changes
 * whenever the file is made again or replaced by hand, without reading the secret into state. A PAX
 * header's mtime wins over the ustar field. Null when the stream holds no file. Pure.
 */
export function tarFileStamp(tar: Buffer): string | null {
  let at = 0;
  let paxMtime: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512).toString("latin1");
    if (/^\0*$/.test(header)) return null;
    const type = header[156];
    const size = octal(header, 124, 12);
    if (!Number.isFinite(size)) return null;
    const body = at + 512;
    if (type === "x") paxMtime = /(?:^|\n)\d+ mtime=([0-9.]+)\n/.exec(tar.subarray(body, body + size).toString("latin1"))?.[1];
    else if (type === "0" || type === "\0") return `${paxMtime ?? octal(header, 136, 12)}:${size}`;
    at = body + Math.ceil(size / 512) * 512;
  }
  return null;
}

export interface SharedSecretInputs {
  /** The stack's Docker host URL: the engine that makes and reads the file. */
  host: string;
  /** `<dataRoot>/.secrets/<name>` (sharedSecretDir). */
  dir: string;
  file: string;
  template: string;
  uid: number;
  selinux: boolean;
  /** For messages: the stack file and key it comes from. */
  stackFile?: string;
  name?: string;
  /** An image the host has, for the short-lived container (not part of the diff). */
  image?: string;
}

export interface SharedSecretOutputs extends SharedSecretInputs {
  /** tarFileStamp of the file as last made or seen. */
  stamp: string;
  /** Drawn at each create and update: the nodes' containers carry it, so they follow a new secret. */
  generation?: string;
}

/**
 * What a preview reports for a shared secret. `onHost`: the file's stamp on the host now, null when it is
 * gone (made again: a new secret, and every node that mounts it restarts), "unknown" when the host could
 * not be asked (nothing is concluded then). Pure.
 */
export function sharedSecretDiff(
  olds: SharedSecretOutputs,
  news: SharedSecretInputs,
  onHost: string | null | "unknown",
): { changes: boolean; replaces: string[] } {
  const replaces = (["host", "dir", "file", "template", "uid", "selinux"] as const).filter(
    (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
  );
  if (onHost === null && !replaces.includes("file")) replaces.push("file");
  if (replaces.length) return { changes: true, replaces };
  return { changes: onHost !== "unknown" && onHost !== olds.stamp, replaces: [] };
}
