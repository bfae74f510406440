import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A fresh copy of the working tree and what the deploy tests and the deploy bench read back from the
 * engine (docker events, docker inspect). No ava here, so the bench can use it too.
 */

const PROJECT = join(__dirname, "../..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables a checkout's processes never inherit: they would point Pulumi at another backend or account. */
const DROPPED = ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_STACK", "CYBERNODE_BASE_IMAGES", "CYBERNODE_BASE_IMAGES_FILE"];

/**
 * A fresh copy of the working tree in a temporary folder, as `git clone` of it would be (tracked and
 * new files, ignored ones left out: no node_modules, bin/, dist/ or state), with its own Pulumi state.
 */
export class Checkout {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "cybernode-deploy-"));
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: PROJECT })
      .toString()
      .split("\0")
      .filter(Boolean);
    for (const f of files) {
      const from = join(PROJECT, f);
      if (!existsSync(from)) continue; // deleted in the working tree
      const to = join(this.dir, f);
      mkdirSync(dirname(to), { recursive: true });
      if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else copyFileSync(from, to); // keeps the mode (bin/ launchers stay executable)
    }
    const base = { ...process.env };
    for (const k of DROPPED) delete base[k];
    this.env = { ...base, PULUMI_CONFIG_PASSPHRASE: "", PULUMI_SKIP_UPDATE_CHECK: "true", ...env };
  }

  /** A fresh copy with its dependencies installed (`npm ci`, as a user does first), or an error with npm's output. */
  static async installed(env: NodeJS.ProcessEnv = {}): Promise<Checkout> {
    const co = new Checkout(env);
    const ci = await co.sh("npm ci --no-audit --no-fund");
    if (ci.code !== 0) throw new Error(`npm ci in ${co.dir}: ${tail(ci.stderr)}`);
    return co;
  }

  /** A command in the checkout; never throws (look at code). */
  run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    const child = this.spawn(cmd, args, o.env);
    return finished(child, o.timeoutMs ?? 20 * 60_000, `${cmd} ${args.join(" ")}`);
  }

  /** `detached`: in a process group of its own, as a terminal runs a command (interrupt() then reaches all of it). */
  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, detached = false): ChildProcess {
    return spawn(cmd, args, { cwd: this.dir, env: { ...this.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached });
  }

  /** `pulumi …` started in its own process group, for a test that interrupts it with Ctrl-C (interrupt()). */
  startPulumi(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<RunResult> } {
    const child = this.spawn(join(this.dir, "node_modules/.bin/pulumi"), args, env, true);
    return { child, done: finished(child, 20 * 60_000, `pulumi ${args.join(" ")}`) };
  }

  /** A shell command line, as a user types it in the checkout. */
  sh(line: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return this.run("sh", ["-c", line], { env });
  }

  /** `npx pulumi …` (the npm package's CLI, as the README's commands run it). */
  pulumi(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return this.run(join(this.dir, "node_modules/.bin/pulumi"), args, { env });
  }

  /** As pulumi(), failing with the command's output when it does not exit 0. */
  async mustPulumi(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    const r = await this.pulumi(args, env);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${tail(r.stdout)}\n${tail(r.stderr)}`);
    return r;
  }

  /** `pulumi preview --json`: the steps that are not "same", as "<op> <resource name>", sorted. */
  async previewSteps(stack: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const r = await this.mustPulumi(["preview", "--stack", stack, "--json"], env);
    const out = JSON.parse(r.stdout) as { steps?: { op: string; urn: string }[] };
    return (out.steps ?? [])
      .filter((s) => s.op !== "same")
      .map((s) => `${s.op} ${s.urn.split("::").pop()}`)
      .sort();
  }

  /**
   * Adds the image spec `fullnode/<name>` as a user adds one: the fixture's spec under that name in
   * `<folder>/fullnode/<name>.ts` (edited by `edit`), its Go sources beside it as the spec's inputs.
   */
  addFixtureImage(name: string, edit: (text: string) => string = (t) => t, folder = "deploy-images"): void {
    const fixture = join(PROJECT, "tests/fixtures/images/fullnode");
    const text = readFileSync(join(fixture, "fixnode.ts"), "utf8")
      .replace("../../../../src/imageSpec/define", "../../src/imageSpec/define")
      .replace('name: "fixnode"', `name: "${name}"`);
    this.write(`${folder}/fullnode/${name}.ts`, edit(text));
    for (const f of ["go.mod", "main.go"]) this.write(`${folder}/fullnode/${name}/${f}`, readFileSync(join(fixture, "fixnode", f), "utf8"));
  }

  /** Writes stacks/Pulumi.<stack>.yaml with these `cybernode:` keys (values as YAML flow, i.e. JSON) and creates the stack. */
  async newStack(stack: string, config: Record<string, unknown>): Promise<void> {
    const lines = Object.entries(config).map(([k, v]) => `  cybernode:${k}: ${JSON.stringify(v)}`);
    this.write(`stacks/Pulumi.${stack}.yaml`, `config:\n${lines.join("\n")}\n`);
    await this.mustPulumi(["stack", "init", stack]);
  }

  write(rel: string, text: string): void {
    mkdirSync(dirname(join(this.dir, rel)), { recursive: true });
    writeFileSync(join(this.dir, rel), text);
  }

  read(rel: string): string {
    return readFileSync(join(this.dir, rel), "utf8");
  }

  /** The stack's state file in the checkout's file backend (Pulumi.yaml: file://./.pulumi-state). */
  stateText(stack: string): string {
    return readFileSync(join(this.dir, ".pulumi-state/.pulumi/stacks/cybernode", `${stack}.json`), "utf8");
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Ctrl-C in a terminal: SIGINT to the whole process group (pulumi, its language host and plugins). */
export function interrupt(child: ChildProcess): void {
  if (child.pid) process.kill(-child.pid, "SIGINT");
}

export const tail = (text: string, lines = 40) => text.split("\n").slice(-lines).join("\n");

/** Collects a child's output and resolves when it exits (killing it past the timeout). */
export function finished(child: ChildProcess, timeoutMs: number, what: string): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not finish within ${timeoutMs / 1000} s:\n${tail(stdout)}\n${tail(stderr)}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** The uid of this machine's user `cyber` (scripts/test.sh makes it), as the stacks' default. */
export function cyberUid(): number {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("cyber:"));
  if (!line) throw new Error("the deploy tests run nodes as user cyber, whom this machine lacks: sudo useradd --create-home cyber");
  return Number(line.split(":")[2]);
}

/** A container event as `docker events` reports it. */
export interface ContainerEvent {
  action: string;
  name: string;
  /** The signal of a `kill` event ("15", "9"). */
  signal?: string;
  exitCode?: string;
  /** When, in seconds since the epoch. */
  time: number;
}

/** Docker's clock in seconds: event windows are read against it. */
export const now = () => Date.now() / 1000;

/**
 * Container events between two times (seconds since the epoch) for containers with these labels
 * (e.g. cybernode.stack=local), health checks left out. `env` picks the engine (DOCKER_HOST).
 */
export function engineEvents(since: number, until: number, labels: string[], env: NodeJS.ProcessEnv = process.env): ContainerEvent[] {
  const r = spawnSync(
    "docker",
    [
      "events",
      "--since",
      since.toFixed(3),
      "--until",
      until.toFixed(3),
      "--filter",
      "type=container",
      ...labels.flatMap((l) => ["--filter", `label=${l}`]),
      "--format",
      "{{json .}}",
    ],
    { env, encoding: "utf8", timeout: 30_000 },
  );
  if (r.status !== 0) throw new Error(`docker events: ${r.stderr}`);
  return (
    r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> }; timeNano: number })
      // Health checks (exec_*, health_status) run in every container all the time; they touch nothing.
      .filter((e) => !e.Action.startsWith("exec_") && !e.Action.startsWith("health_status"))
      .map((e) => ({
        action: e.Action,
        name: e.Actor.Attributes.name,
        ...(e.Actor.Attributes.signal ? { signal: e.Actor.Attributes.signal } : {}),
        ...(e.Actor.Attributes.exitCode ? { exitCode: e.Actor.Attributes.exitCode } : {}),
        time: e.timeNano / 1e9,
      }))
  );
}

/** `docker inspect` of a container as JSON (undefined when there is none by that name). */
// biome-ignore lint/suspicious/noExplicitAny: docker inspect's JSON is read field by field
export function inspectContainer(name: string, env: NodeJS.ProcessEnv = process.env): any {
  const r = spawnSync("docker", ["container", "inspect", name], { env, encoding: "utf8" });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as unknown[])[0];
}

/** Names of the containers on the engine that carry a label (e.g. cybernode.stack=local), running or not. */
export function containersLabelled(label: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const r = spawnSync("docker", ["ps", "-a", "--filter", `label=${label}`, "--format", "{{.Names}}"], { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`docker ps: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean).sort();
}

/** Polls `probe` until it returns a value other than undefined/false, or throws after `ms`. */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < ms) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (${String(last)})` : ""}`);
}
