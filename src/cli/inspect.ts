import { existsSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { dockerMaybe, dockerStream } from "../docker/cli";
import { createStopped, withTemporary } from "../docker/temporaries";
import { runRepository } from "../archive/imageArchive";
import { imagesRoot } from "../spec/load";
import { IMAGE_NAME_RE } from "../spec/validate";
import { allowOnly, UsageError, type ParsedArgs } from "./args";

export interface ListedFile {
  line: string;
  path: string;
  mode: number;
  type: string;
}

/** Formats one entry as `tar -tv --numeric-owner` does. Pure. */
export function formatListing(e: {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  type: string;
  linkpath?: string;
}): string {
  const kind =
    e.type === "Directory"
      ? "d"
      : e.type === "SymbolicLink"
        ? "l"
        : e.type === "CharacterDevice"
          ? "c"
          : e.type === "BlockDevice"
            ? "b"
            : "-";
  const bits = "rwxrwxrwx".split("").map((ch, i) => (e.mode & (0o400 >> i) ? ch : "-"));
  if (e.mode & 0o4000) bits[2] = bits[2] === "x" ? "s" : "S";
  if (e.mode & 0o2000) bits[5] = bits[5] === "x" ? "s" : "S";
  if (e.mode & 0o1000) bits[8] = bits[8] === "x" ? "t" : "T";
  const when = e.mtime.toISOString().slice(0, 16).replace("T", " ");
  return `${kind}${bits.join("")} ${`${e.uid}/${e.gid}`.padEnd(9)} ${String(e.size).padStart(9)} ${when} ${e.path}${e.linkpath ? ` -> ${e.linkpath}` : ""}`;
}

/** Lists an image's filesystem through `docker export` of a created (never started) container. */
export async function listImageFiles(image: string): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  await withTemporary("inspect", async (t) => {
    const { name } = t;
    await createStopped(t, image, { cmd: ["/none"] });
    const run = await dockerStream(["export", name], {
      onStdout: (s) =>
        new Promise<void>((resolve, reject) => {
          const p = new tar.Parser({
            onReadEntry: (e) => {
              files.push({
                path: e.path,
                mode: e.mode ?? 0,
                type: e.type,
                line: formatListing({
                  path: e.path,
                  mode: e.mode ?? 0,
                  uid: e.uid ?? 0,
                  gid: e.gid ?? 0,
                  size: e.size ?? 0,
                  mtime: e.mtime ?? new Date(0),
                  type: e.type,
                  linkpath: e.linkpath,
                }),
              });
              e.resume();
            },
          });
          p.on("end", resolve);
          p.on("error", reject);
          s.pipe(p);
        }),
    });
    if (run.exitCode !== 0) throw new Error(`docker export: ${run.stderr.trim()}`);
  });
  return files;
}

/** Which image an `inspect` argument means: a spec name maps to its run image. */
export function inspectTarget(arg: string, root: string): string {
  if (IMAGE_NAME_RE.test(arg) && existsSync(join(root, `${arg}.ts`))) return `${runRepository(arg)}:latest`;
  return arg;
}

interface InspectedConfig {
  Id: string;
  Size: number;
  Config: {
    User?: string;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[];
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string> | null;
    WorkingDir?: string;
  };
}

export async function cmdInspect(args: ParsedArgs): Promise<number> {
  allowOnly(args, ["json"], ["images"]);
  if (args.positional.length !== 1) throw new UsageError("inspect takes one image: a spec name (fullnode/btcd) or an image reference");
  const image = inspectTarget(args.positional[0], imagesRoot(args.options.get("images")));
  const raw = await dockerMaybe(["image", "inspect", image]);
  if (!raw) {
    process.stderr.write(
      `cybernode inspect: image '${image}' is not on the Docker host; build it first: npx cybernode build ${args.positional[0]}\n`,
    );
    return 1;
  }
  const info = (JSON.parse(raw) as InspectedConfig[])[0];
  const files = await listImageFiles(image);
  const special = files.filter((f) => f.mode & 0o6000).map((f) => f.path);
  const shells = files.filter((f) => /^(bin|usr\/bin)\/(sh|bash|ash|dash|busybox)$/.test(f.path)).map((f) => `/${f.path}`);
  const c = info.Config;
  const lines = [
    `image       ${image}`,
    `id          ${info.Id}`,
    `version     ${c.Labels?.version ?? "(no version label)"}`,
    `entrypoint  ${JSON.stringify(c.Entrypoint ?? [])}`,
    `cmd         ${JSON.stringify(c.Cmd ?? [])}`,
    `user        ${c.User || "(root!)"}`,
    `workdir     ${c.WorkingDir ?? ""}`,
    `ports       ${Object.keys(c.ExposedPorts ?? {}).join(" ") || "(none)"}`,
    `volumes     ${Object.keys(c.Volumes ?? {}).join(" ") || "(none)"}`,
    `env         ${(c.Env ?? []).join(" ")}`,
    `labels      ${Object.entries(c.Labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join("\n            ")}`,
    `size        ${info.Size} bytes`,
    `setuid/gid  ${special.length ? special.join(" ") : "none"}`,
    `shell       ${shells.length ? shells.join(" ") : "none"}`,
    `files:`,
    ...files.map((f) => `  ${f.line}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
