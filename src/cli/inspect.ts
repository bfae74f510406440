import { existsSync } from "node:fs";
import { join } from "node:path";
import { dockerMaybe } from "../docker/cli";
import { type LayerEntry, layerEntries, mergeLayers } from "../archive/layerFiles";
import { readSavedImage } from "../builder/assemble";
import { runRepository } from "../archive/imageArchive";
import { imagesRoot, listSpecNames, loadSpec } from "../imageSpec/load";
import { IMAGE_NAME_RE } from "../imageSpec/validate";
import { allowOnly, UsageError, type ParsedArgs } from "./args";

export interface ListedFile {
  line: string;
  path: string;
  mode: number;
  type: string;
}

/** Formats one entry as `tar -tv --numeric-owner` does. Pure. */
export function formatListing(e: LayerEntry): string {
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

/**
 * Lists an image's filesystem from its layers (`docker save`, whiteouts applied): what the image holds,
 * without what Docker adds to each container (/.dockerenv, /etc/hosts, /dev/console, …).
 */
export async function listImageFiles(image: string): Promise<ListedFile[]> {
  const { layers } = await readSavedImage(image);
  const merged = mergeLayers(await Promise.all(layers.map(layerEntries)));
  // Folders end in "/", as `tar -tv` shows them.
  return merged.map((e) => ({
    path: e.path,
    mode: e.mode,
    type: e.type,
    line: formatListing({ ...e, path: e.type === "Directory" ? `${e.path}/` : e.path }),
  }));
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
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } | null;
  };
}

/** The image's health check in one line (durations in the config are nanoseconds). Pure. */
export function formatHealth(h: InspectedConfig["Config"]["Healthcheck"]): string {
  if (!h?.Test?.length || h.Test[0] === "NONE") return "none";
  const s = (ns?: number) => `${Math.round((ns ?? 0) / 1e9)}s`;
  const cmd = h.Test[0] === "CMD" ? JSON.stringify(h.Test.slice(1)) : h.Test.slice(1).join(" ");
  return `${cmd} every ${s(h.Interval)}, timeout ${s(h.Timeout)}, ${h.Retries ?? 0} retries, start period ${s(h.StartPeriod)}`;
}

/**
 * How a node of this image is stopped: the spec's signal and grace when the argument was a spec (the
 * grace is a container setting, not part of the image), else the image's stop signal. Pure.
 */
export function formatStop(imageSignal: string | undefined, spec: { stopSignal: string; stopGrace: number } | null): string {
  if (spec)
    return `${spec.stopSignal}, then ${spec.stopGrace} s before SIGKILL (the spec's container.stopSignal/stopGrace; a stack's node may change them)`;
  return `${imageSignal || "SIGTERM"} (the image's; the grace is set per container)`;
}

/** The spec's stop signal and grace when `arg` named a spec (inspectTarget mapped it), else null. */
function stopOf(arg: string, image: string, root: string): { stopSignal: string; stopGrace: number } | null {
  if (image === arg) return null;
  const { container } = loadSpec(root, arg).spec;
  return { stopSignal: container.stopSignal, stopGrace: container.stopGrace };
}

export async function cmdInspect(args: ParsedArgs): Promise<number> {
  allowOnly(args, ["json"], ["images"]);
  if (args.positional.length !== 1) throw new UsageError("inspect takes one image: a spec name (fullnode/btcd) or an image reference");
  const root = imagesRoot(args.options.get("images"));
  const arg = args.positional[0];
  const image = inspectTarget(arg, root);
  const raw = await dockerMaybe(["image", "inspect", image]);
  if (!raw) {
    const isSpec = image !== arg;
    const known = listSpecNames(root);
    process.stderr.write(
      isSpec
        ? `cybernode inspect: image '${image}' is not on the Docker host; build it first: npx cybernode build ${arg}\n`
        : `cybernode inspect: '${arg}' is neither an image spec under ${root} (${known.length ? `known: ${known.join(", ")}` : "none there"}) nor an image on the Docker host\n`,
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
    `health      ${formatHealth(c.Healthcheck)}`,
    `stop        ${formatStop(c.StopSignal, stopOf(arg, image, root))}`,
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
