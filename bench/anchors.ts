/**
 * The anchors `npm run bench` measures the builder against, and the temporary images folder it builds in:
 * - the seed project's own three-command flow (Dockerfile-build, docker run -v bin:/build, Dockerfile),
 *   run as a user runs it, with Docker's layer cache on;
 * - the spec's build steps as one plain `docker run --rm` of the toolchain image (same commands, env,
 *   user, working directory and cache volumes);
 * - the `cybernode build` CLI as a whole process.
 * Every command runs synchronously through the docker/node CLIs, output captured (not printed).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { CACHE_VOLUME_PREFIX } from "../src/builder/runSteps";
import { parseTemporaryName, TEMP_LABEL } from "../src/docker/temporaries";
import { versionStep } from "../src/builder/stepKeys";
import { type LoadedSpec, loadSpec } from "../src/imageSpec/load";
import type { ResolvedSpec } from "../src/imageSpec/validate";
import { fixtureSpec, testBaseMap } from "../tests/helpers/docker";

export const REPO = join(__dirname, "..");
const FIXTURE_MODULE = join(REPO, "tests/fixtures/images/fullnode/fixnode");
/** The engine here is 20.10 and the client has no buildx: `docker build` needs the legacy builder. */
const DOCKER_ENV = { ...process.env, DOCKER_BUILDKIT: "0" };

/** Build options of the bench's in-process builds: the test base images, no output. */
export const quiet = { baseMap: testBaseMap(), log: () => {} };
/** A short random tag that makes step keys new. */
export const unique = () => Math.random().toString(36).slice(2, 10);

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Wall time of an async fn in seconds. */
export async function secondsOf(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Wall time of fn in seconds. */
export function timed<T>(fn: () => T): { seconds: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** Runs a command as a user would type it (output captured); throws with its stderr when it fails. */
function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env ?? DOCKER_ENV, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} (exit ${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/**
 * The fixture as an images folder the CLI can read: `<root>/<name>.ts` re-exports the fixture spec and
 * `<root>/<name>/` holds its inputs (fixtureSpec copies them to tmpdir/cybernode-it-*; they are moved here).
 * The in-process builds load the spec the same way the CLI does, so both share step keys and bin/.
 */
export function benchImages(name: string): { root: string; loaded: LoadedSpec } {
  const copy = fixtureSpec(name);
  const root = mkdtempSync(join(tmpdir(), "cybernode-bench-images-"));
  mkdirSync(join(root, dirname(name)), { recursive: true });
  renameSync(copy.dir, join(root, name));
  writeFileSync(join(root, `${name}.ts`), `export { default } from ${JSON.stringify(FIXTURE_MODULE)};\n`);
  return { root, loaded: loadSpec(root, name) };
}

/** `node bin/cybernode.js build --images <root> <name>` as a child process, with the test base-image mapping. */
export function cliBuild(root: string, name: string, env: NodeJS.ProcessEnv = {}): { stdout: string; pid: number } {
  const mapping = [...testBaseMap()].map(([from, to]) => `${from}=${to}`).join(",");
  const args = [join(REPO, "bin/cybernode.js"), "build", "--images", root, name];
  const r = spawnSync(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, CYBERNODE_BASE_IMAGES: mapping, ...env },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`cybernode build ${name} (exit ${r.status ?? r.signal}): ${r.stderr}`);
  return { stdout: r.stdout, pid: r.pid };
}

/**
 * Containers one builder process started between two times (seconds since epoch): the builder's
 * temporary containers carry its pid in their names, so other work on the engine (tests) is not counted.
 */
export function containersStartedBy(pid: number, since: number, until: number): number {
  const out = run("docker", [
    "events",
    ...["--since", since.toFixed(3), "--until", until.toFixed(3)],
    ...["--filter", "type=container", "--filter", "event=start", "--filter", `label=${TEMP_LABEL}=1`],
    ...["--format", "{{.Actor.Attributes.name}}"],
  ]);
  return out.split("\n").filter((n) => parseTemporaryName(n)?.pid === pid).length;
}

const toolchain = (spec: ResolvedSpec) => testBaseMap().get(spec.build.from) ?? spec.build.from;

/**
 * The spec's build steps (and version command, if any) as one `docker run --rm` of the toolchain image:
 * same env, user, working directory and named cache volumes as the builder's step containers, the inputs
 * mounted read-only at /cyberinputs. Each step runs in a subshell, so each starts in the working directory.
 * Nothing is committed, extracted or assembled.
 */
export function rawStepsRun(spec: ResolvedSpec, inputsDir: string): number {
  const v = spec.build.version;
  const commands = [...spec.build.steps, ...("command" in v ? [versionStep(v.command)] : [])];
  const args = ["run", "--rm", "--user", "0", "-w", spec.build.workdir, "-v", `${inputsDir}:/cyberinputs:ro`];
  for (const [k, val] of spec.build.env) args.push("-e", `${k}=${val}`);
  for (const k of spec.build.passEnv) if (process.env[k] !== undefined) args.push("-e", `${k}=${process.env[k]}`);
  for (const c of spec.build.caches) args.push("-v", `${CACHE_VOLUME_PREFIX}${c.name}:${c.path}`);
  // Each command on lines of its own in a subshell: a trailing comment must not swallow the parenthesis.
  args.push("--entrypoint", "/bin/sh", toolchain(spec), "-c", ["set -e", ...commands.map((c) => `(\n${c}\n)`)].join("\n"));
  return timed(() => run("docker", args)).seconds;
}

/**
 * The seed project's flow for the fixture, as files on disk in a temporary folder:
 *   Dockerfile-build  FROM the toolchain, ENV as the spec, COPY the source, RUN go build (the spec's flags), CMD cp to /build
 *   Dockerfile        FROM scratch, ADD bin/* /cyberapp/, VOLUME, ENV HOME, EXPOSE, ENTRYPOINT
 *   src/              the fixture's source (build context of Dockerfile-build)
 * No cache mounts, as in the seed: once the COPY layer changes, go build starts with an empty build cache.
 */
export class SeedFlow {
  readonly dir = mkdtempSync(join(tmpdir(), "cybernode-bench-seed-"));
  /** Every image ID the flow tagged (moved tags leave the old ones dangling), removed by cleanup(). */
  private readonly ids = new Set<string>();
  private readonly buildFile: string;

  constructor(
    loaded: LoadedSpec,
    readonly tag: string,
    readonly version = "1.0.0",
  ) {
    const { spec } = loaded;
    cpSync(loaded.dir, join(this.dir, "src"), {
      recursive: true,
      filter: (src) => !/^(bin|\.bin-)/.test(relative(loaded.dir, src)),
    });
    const goBuild = spec.build.steps.find((s) => s.includes("go build"));
    if (!goBuild) throw new Error(`${spec.name}: no go build step to mirror`);
    this.buildFile = [
      `FROM ${toolchain(spec)}`,
      `ENV ${spec.build.env.map(([k, v]) => `${k}=${v}`).join(" ")}`,
      "COPY . /src",
      `RUN ${goBuild.replaceAll("/cyberinputs", "/src").replaceAll("/out/", "/go/bin/")}`,
      "CMD cp /go/bin/* /build",
      "",
    ].join("\n");
    const runFile = [
      "FROM scratch",
      "ADD bin/* /cyberapp/",
      "VOLUME /cyberdata",
      "ENV HOME /cyberdata",
      `EXPOSE ${spec.run.ports.map((p) => p.port).join(" ")}`,
      `ENTRYPOINT ${JSON.stringify(spec.run.entrypoint)}`,
      "",
    ].join("\n");
    writeFileSync(join(this.dir, "Dockerfile"), runFile);
    mkdirSync(join(this.dir, "bin"));
  }

  /**
   * The three commands, timed together. `lastRun` appends a RUN to Dockerfile-build (the "last step
   * changed" case); `noCache` passes --no-cache to both builds (the seed's forced full rebuild).
   * `cached` says whether every build instruction came from Docker's layer cache.
   */
  flow(o: { lastRun?: string; noCache?: boolean } = {}): { seconds: number; cached: boolean } {
    writeFileSync(join(this.dir, "Dockerfile-build"), this.buildFile + (o.lastRun ? `RUN ${o.lastRun}\n` : ""));
    const noCache = o.noCache ? ["--no-cache"] : [];
    const t = timed(() => {
      const a = run("docker", ["build", ...noCache, "-t", `${this.tag}-build`, "-f", "Dockerfile-build", "src"], { cwd: this.dir });
      run("docker", ["run", "--rm", "-v", `${join(this.dir, "bin")}:/build`, `${this.tag}-build`]);
      const b = run("docker", ["build", ...noCache, "-t", this.tag, "--label", `version=${this.version}`, "-f", "Dockerfile", "."], {
        cwd: this.dir,
      });
      return a + b;
    });
    for (const ref of [`${this.tag}-build`, this.tag]) this.ids.add(run("docker", ["image", "inspect", "--format", "{{.Id}}", ref]).trim());
    return { seconds: t.seconds, cached: !/Running in /.test(t.value) };
  }

  /**
   * Removes the flow's images (their untagged parents go with them) and its folder. Newest first: a
   * later build may sit on an earlier one's layers (the cache picks either chain after --no-cache),
   * and an image with children cannot be removed.
   */
  cleanup(): void {
    spawnSync("docker", ["rmi", "-f", ...[...this.ids].reverse()], { stdio: "ignore" });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Refuses to time a stale plugin: bin/pulumi-resource-cybernode-images runs dist/plugin.js only while it
 * is newer than src/, else the sources through tsx (slower; measured 1.96 s instead of 1.50 s for a no-op
 * preview), which is not what users run after `npm ci`.
 */
export function requireFreshPlugin(): void {
  const { freshBundle } = require("../bin/bundled.js") as { freshBundle(name: string): string | null };
  if (!freshBundle("plugin")) throw new Error("dist/plugin.js is missing or older than src/: run `npm run bundle` first");
}
