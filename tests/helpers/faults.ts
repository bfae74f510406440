import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { docker, dockerMaybe } from "../../src/docker/cli";
import type { BinManifest } from "../../src/builder/extract";
import { backgroundCleanups } from "../../src/docker/temporaries";

/** Prefix of every container (and data folder) the fault tests create. */
export const FAULT_PREFIX = "cybernode-fault-";

const rand = () => Math.random().toString(36).slice(2, 8);

/** A container name unique to this test process: cybernode-fault-<what>-<pid>-<random>. */
export const faultName = (what: string) => `${FAULT_PREFIX}${what}-${process.pid}-${rand()}`;

/** An image spec name (group/name, lower case) unique to this run. */
export const faultImage = (what: string) => `fullnode/fault-${what}-${rand()}`;

/**
 * Temporary containers (label cybernode.temp=1) made by one builder process. Their names carry the
 * pid (`cybernode-tmp-<purpose>-<pid>-<random>`), so builds of other people on the same engine do not count.
 */
export async function temporariesOf(pid: number, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  // This process's finished build containers may still be exiting (docker run --rm): let them.
  if (pid === process.pid) await backgroundCleanups();
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(
    "docker",
    ["ps", "-a", "--filter", "label=cybernode.temp=1", "--filter", `name=^cybernode-tmp-[a-z]+-${pid}-`, "--format", "{{.Names}}"],
    { env, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`docker ps: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}

/** Every file under a folder (relative path → bytes). Folders are walked; links are stored as their target. */
export type Snapshot = Map<string, Buffer>;

export function snapshot(dir: string, rel = "", out: Snapshot = new Map()): Snapshot {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) snapshot(dir, r, out);
    else out.set(r, st.isSymbolicLink() ? Buffer.from(`link:${r}`) : readFileSync(join(dir, r)));
  }
  return out;
}

/**
 * Bytes of `before` that are gone in `after`: a file that vanished counts whole, a file whose old
 * content is no longer its prefix counts whole (appending, as a node's log does, loses nothing).
 */
export function bytesLost(before: Snapshot, after: Snapshot): { bytes: number; files: string[] } {
  let bytes = 0;
  const files: string[] = [];
  for (const [path, data] of before) {
    const now = after.get(path);
    if (now && now.length >= data.length && now.subarray(0, data.length).equals(data)) continue;
    bytes += data.length;
    files.push(path);
  }
  return { bytes, files };
}

export const totalBytes = (s: Snapshot) => [...s.values()].reduce((n, b) => n + b.length, 0);

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** What a bin/ folder holds: the MANIFEST.json bytes (or null) and whether every listed file matches it. */
export function binState(binDir: string): { manifest: string | null; intact: boolean; bad: string[] } {
  const file = join(binDir, "MANIFEST.json");
  if (!existsSync(file))
    return { manifest: null, intact: !existsSync(binDir), bad: existsSync(binDir) ? ["bin/ without MANIFEST.json"] : [] };
  const text = readFileSync(file, "utf8");
  const m = JSON.parse(text) as BinManifest;
  const bad: string[] = [];
  for (const f of m.files) {
    const p = join(binDir, f.path);
    if (!existsSync(p)) {
      bad.push(`${f.path}: missing`);
      continue;
    }
    const data = readFileSync(p);
    if (data.length !== f.size || sha256(data) !== f.sha256) bad.push(`${f.path}: differs from the manifest`);
  }
  return { manifest: text, intact: bad.length === 0, bad };
}

/** `.bin-partial-*` scratch folders left in an image folder. */
export const partialFolders = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(".bin-partial-")) : []);

/** One port chooser for every suite (see host.ts for why it avoids the ephemeral range). */
export { freePort } from "./host";

/** The hardening the Pulumi program applies by default, as docker run flags. */
export const HARDENING = ["--read-only", "--tmpfs", "/tmp", "--security-opt", "no-new-privileges:true", "--cap-drop", "ALL"];

/**
 * Runs the fixture node as the stack would (restart always, uid 1000, hardened, data folder at
 * /cyberdata), optionally with its RPC port published on 127.0.0.1. Returns the container ID.
 */
export async function runFixture(o: { name: string; image: string; data: string; rpcPort?: number }): Promise<string> {
  const ports = o.rpcPort ? ["-p", `127.0.0.1:${o.rpcPort}:18545`] : [];
  return docker([
    "run",
    "-d",
    "--name",
    o.name,
    "--restart",
    "always",
    "-u",
    "1000:1000",
    ...HARDENING,
    ...ports,
    "-v",
    `${o.data}:/cyberdata`,
    o.image,
  ]);
}

export interface ContainerState {
  id: string;
  image: string;
  running: boolean;
  pid: number;
  restartCount: number;
  startedAt: string;
}

export async function containerState(name: string): Promise<ContainerState | null> {
  const out = await dockerMaybe([
    "inspect",
    "--format",
    "{{.Id}}|{{.Image}}|{{.State.Running}}|{{.State.Pid}}|{{.RestartCount}}|{{.State.StartedAt}}",
    name,
  ]);
  if (!out) return null;
  const [id, image, running, pid, restartCount, startedAt] = out.split("|");
  return { id, image, running: running === "true", pid: Number(pid), restartCount: Number(restartCount), startedAt };
}

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then returns the last value). */
export async function poll<T>(check: () => Promise<T> | T, timeoutMs: number, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = await check();
  while (!last && Date.now() < end) {
    await new Promise((r) => setTimeout(r, everyMs));
    last = await check();
  }
  return last;
}

/** Lines of a text file (0 when it does not exist). */
export const lineCount = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0);

/** Removes containers by name, ignoring ones that do not exist. */
export async function removeContainers(...names: string[]): Promise<void> {
  for (const n of names) await dockerMaybe(["rm", "-f", "-v", n]);
}
