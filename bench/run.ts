/**
 * `npm run bench`: the builder's figures on the fixture image, each beside a fair anchor, measured
 * interleaved in one run (medians). Needs Docker and the test base images (bash scripts/make-test-bases.sh).
 * BENCH_RUNS (default 5) sets the rounds; BENCH_FORCED_RUNS (default 1, 0 to skip) the seed flow's
 * --no-cache rebuilds (about a minute each); BENCH_REAL_RUNS (default 3, 0 to skip) the cold btcd pairs;
 * BENCH_FIRST_RUNS (default 3, 0 to skip) btcd's first-build pairs (empty Go caches, about 2 minutes each).
 * The CLI runs from dist/cli.js (npm run bundle first) and, for comparison, from the sources. Prints a table and, last, one JSON line. Anchors: bench/anchors.ts.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type BuildResult, buildImage } from "../src/builder/builder";
import { extractArtifacts } from "../src/builder/extract";
import { CACHE_VOLUME_PREFIX } from "../src/builder/runSteps";
import { docker, dockerMaybe } from "../src/docker/cli";
import { backgroundCleanups } from "../src/docker/temporaries";
import type { LoadedSpec } from "../src/imageSpec/load";
import { now, removeTestImages, requireDocker } from "../tests/helpers/docker";
import { realImageCold, realImageFirstBuild, withSteps } from "./realImage";
import { benchImages, cliBuild, containersStartedBy, median, quiet, rawStepsRun, SeedFlow, unique } from "./anchors";

const { freshBundle } = require("../bin/bundled.js") as { freshBundle(name: string): string | null };
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FORCED_RUNS = Number(process.env.BENCH_FORCED_RUNS ?? 1);

function noopOrThrow(r: BuildResult, what: string): void {
  if (r.stepsRun !== 0 || r.extracted || r.loaded) throw new Error(`${what} was not a no-op: ${JSON.stringify(r)}`);
}

async function main(): Promise<void> {
  await requireDocker();
  if (!freshBundle("cli")) throw new Error("dist/cli.js is missing or older than src/: run `npm run bundle` first");
  const name = "fullnode/fixnode-bench";
  await removeTestImages(name);
  const { root, loaded } = benchImages(name);
  const { spec } = loaded;
  const volumes = spec.build.caches.map((c) => `${CACHE_VOLUME_PREFIX}${c.name}`);
  const newVolumes: string[] = [];
  for (const v of volumes) if ((await dockerMaybe(["volume", "inspect", v])) === null) newVolumes.push(v);
  const seed = new SeedFlow(loaded, "cybernode-bench/fixnode");
  try {
    await figures(root, name, loaded, seed);
  } finally {
    await removeTestImages(name);
    seed.cleanup();
    if (newVolumes.length) await docker(["volume", "rm", ...newVolumes]).catch(() => "");
    rmSync(root, { recursive: true, force: true });
  }
}

async function figures(root: string, name: string, loaded: LoadedSpec, seed: SeedFlow): Promise<void> {
  // Warm-up, not measured: step cache, go-build cache volume, seed layer cache, tsx's transpile cache.
  const cold = await buildImage(loaded, quiet);
  const artifactBytes = cold.manifest.files.reduce((n, f) => n + f.size, 0);
  seed.flow();
  cliBuild(root, name);
  rawStepsRun(loaded.spec, join(seed.dir, "src"));
  const settleOurs = async () => buildImage(loaded, quiet);
  const settleSeed = () => {
    if (!seed.flow().cached) throw new Error("seed flow: the no-op after a change ran build instructions");
  };
  await settleOurs();
  settleSeed();

  const s = {
    noopOurs: [] as number[],
    cliNoop: [] as number[],
    cliNoopSources: [] as number[],
    seedNoop: [] as number[],
    lastOurs: [] as number[],
    lastSeed: [] as number[],
    coldOurs: [] as number[],
    coldOursSteps: [] as number[],
    coldRaw: [] as number[],
    seedForced: [] as number[],
  };
  let noopStarts = 0;
  let cliStarts = 0;
  const stepsRerun: number[] = [];
  const coldContainers: number[] = [];
  const lastStep = loaded.spec.build.steps.at(-1);

  const oursNoop = async () => {
    const t0 = now();
    const r = await buildImage(loaded, quiet);
    const t1 = now();
    noopOrThrow(r, "in-process build");
    s.noopOurs.push(t1 - t0);
    noopStarts += containersStartedBy(process.pid, t0, t1);
  };
  const cliRun = (into: number[], env: NodeJS.ProcessEnv) => async () => {
    const t0 = now();
    const { stdout: out, pid } = cliBuild(root, name, env);
    const t1 = now();
    if (!/^steps\s+0 of \d+ ran/m.test(out) || !/\(unchanged\)/.test(out)) throw new Error(`CLI build was not a no-op:\n${out}`);
    into.push(t1 - t0);
    cliStarts += containersStartedBy(pid, t0, t1);
  };
  const cliNoop = cliRun(s.cliNoop, {});
  const cliNoopSources = cliRun(s.cliNoopSources, { CYBERNODE_NO_BUNDLE: "1" });
  const seedNoop = async () => {
    const r = seed.flow();
    if (!r.cached) throw new Error("seed flow no-op ran build instructions");
    s.seedNoop.push(r.seconds);
  };
  // Last step changed: ours reruns its last step (the version file); the seed flow reruns an appended
  // RUN doing the same (the binary's --version), then its docker run and run-image build.
  const lastOurs = async (tag: string) => {
    const t0 = now();
    const r = await buildImage(
      withSteps(loaded, (st) => [...st.slice(0, -1), `${lastStep} # bench ${tag}`]),
      quiet,
    );
    s.lastOurs.push(now() - t0);
    stepsRerun.push(r.stepsRun);
  };
  const lastSeed = async (tag: string) => {
    const r = seed.flow({ lastRun: `/go/bin/fixnode --version | cut -d' ' -f2 > /VERSION # bench ${tag}` });
    if (r.cached) throw new Error("seed flow: the changed last instruction came from the cache");
    s.lastSeed.push(r.seconds);
  };
  // Cold: every step reruns (a unique comment on the first step: new keys), caches warm for both.
  const coldOurs = async (tag: string) => {
    const t0 = now();
    const r = await buildImage(
      withSteps(loaded, ([first, ...rest]) => [`${first} # bench cold ${tag}`, ...rest]),
      quiet,
    );
    s.coldOurs.push(now() - t0);
    if (r.stepsRun !== r.stepsTotal) throw new Error(`cold build ran ${r.stepsRun} of ${r.stepsTotal} steps`);
    s.coldOursSteps.push(r.stepSeconds.reduce((a, b) => a + b, 0));
    coldContainers.push(r.stepContainers);
  };
  const coldRaw = async () => {
    s.coldRaw.push(rawStepsRun(loaded.spec, join(seed.dir, "src")));
  };
  const pair = async (i: number, a: (tag: string) => Promise<void>, b: (tag: string) => Promise<void>) => {
    const tag = `${i} ${unique()}`;
    for (const f of i % 2 ? [b, a] : [a, b]) {
      await f(tag);
      // A build returns while its container exits (docker run --rm): not into the next measurement.
      await backgroundCleanups();
    }
  };

  for (let i = 0; i < RUNS; i++) {
    const trio = [oursNoop, cliNoop, cliNoopSources, seedNoop];
    for (let k = 0; k < trio.length; k++) await trio[(i + k) % trio.length]();
    await pair(i, lastOurs, lastSeed);
    await settleOurs();
    settleSeed();
    await pair(i, coldOurs, coldRaw);
    await settleOurs();
    if (i < FORCED_RUNS) {
      s.seedForced.push(seed.flow({ noCache: true }).seconds);
      settleSeed();
    }
  }

  // A real image: btcd's steps (the pinned module's source, go build) cold with warm Go caches, which
  // is what a spec edit costs, against the same commands in one plain `docker run`.
  const real = await realImageCold();
  // The same image as a first build on a machine: nothing cached, Go modules downloaded and compiled.
  const first = await realImageFirstBuild();

  // Run image size minus artifact bytes.
  const size = Number(await docker(["image", "inspect", "--format", "{{.Size}}", cold.imageId]));

  // Extraction throughput vs raw docker cp to /dev/null.
  const lastTag = `cybernode-step/${name.replace("/", "-")}:${cold.buildKey}`;
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rmSync(join(loaded.dir, "bin"), { recursive: true, force: true });
    let t0 = now();
    await extractArtifacts({
      spec: loaded.spec,
      dir: loaded.dir,
      buildImage: lastTag,
      buildKey: cold.buildKey,
      versionFile: "/out/VERSION",
      log: () => {},
    });
    ours.push(now() - t0);
    t0 = now();
    const c = execFileSync("docker", ["create", lastTag, "/bin/true"]).toString().trim();
    execFileSync("sh", ["-c", `docker cp ${c}:/out/fixnode - > /dev/null && docker cp ${c}:/out/VERSION - > /dev/null`]);
    execFileSync("docker", ["rm", c]);
    raw.push(now() - t0);
  }

  // Determinism: two clean assemblies.
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    await docker(["rmi", "-f", ...cold.tags]).catch(() => "");
    rmSync(join(loaded.dir, "bin"), { recursive: true, force: true });
    ids.push((await buildImage(loaded, quiet)).imageId);
  }

  const ms = (x: number) => Math.round(x * 1000) / 1000;
  const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, ms(median(v))])) as Record<keyof typeof s, number>;
  const f = {
    runs: RUNS,
    noopOursSeconds: m.noopOurs,
    noopContainersStarted: noopStarts,
    cliNoopSeconds: m.cliNoop,
    cliNoopContainersStarted: cliStarts,
    seedCachedNoopSeconds: m.seedNoop,
    noopOverSeedNoopRatio: ms(m.noopOurs / m.seedNoop),
    cliOverSeedNoopRatio: ms(m.cliNoop / m.seedNoop),
    cliFromBundle: freshBundle("cli") !== null,
    cliFromSourcesNoopSeconds: m.cliNoopSources,
    lastStepOursSeconds: m.lastOurs,
    lastStepSeedSeconds: m.lastSeed,
    lastStepOverSeedRatio: ms(m.lastOurs / m.lastSeed),
    lastStepChangeStepsRerun: median(stepsRerun),
    coldOursSeconds: m.coldOurs,
    coldOursStepsSeconds: m.coldOursSteps,
    coldRawSeconds: m.coldRaw,
    coldStepContainers: median(coldContainers),
    coldOverheadRatio: ms(m.coldOurs / m.coldRaw),
    btcdColdOursSeconds: real ? ms(median(real.ours)) : null,
    btcdColdRawSeconds: real ? ms(median(real.raw)) : null,
    btcdColdOverheadRatio: real ? ms(median(real.ours) / median(real.raw)) : null,
    btcdFirstBuildOursSeconds: first ? ms(median(first.ours)) : null,
    btcdFirstBuildRawSeconds: first ? ms(median(first.raw)) : null,
    btcdFirstBuildOverheadRatio: first ? ms(median(first.ours) / median(first.raw)) : null,
    // Module downloads make these noisy: each round's pair ran back to back, so its ratio is printed too.
    btcdFirstBuildRoundRatios: first ? first.ours.map((x, i) => ms(x / first.raw[i])) : null,
    seedForcedFullRebuildSeconds: s.seedForced.length ? m.seedForced : null,
    seedForcedRuns: s.seedForced.length,
    runImageBytes: size,
    artifactBytes,
    runImageOverheadBytes: size - artifactBytes,
    layerTarOverheadBytes: (await layerBytes(cold.imageId)) - artifactBytes,
    extractionSeconds: ms(median(ours)),
    rawDockerCpSeconds: ms(median(raw)),
    extractionThroughputRatio: ms(median(raw) / median(ours)),
    cleanAssemblyIds: ids,
    deterministic: ids[0] === ids[1] && ids[0] === cold.imageId,
    samples: {
      ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map(ms)])),
      btcdCold: real && { ours: real.ours.map(ms), raw: real.raw.map(ms) },
      btcdFirstBuild: first && { ours: first.ours.map(ms), raw: first.raw.map(ms) },
    },
  };
  const sec = (k: keyof typeof s) => `${m[k].toFixed(3)} s [${Math.min(...s[k]).toFixed(2)}–${Math.max(...s[k]).toFixed(2)}]`;
  const row = (k: string, v: string) => console.log(`${k.padEnd(62)} ${v}`);
  console.log(`medians of ${RUNS} interleaved rounds [min–max]`);
  row(
    "no-op: ours in-process vs seed flow cached",
    `${sec("noopOurs")} vs ${sec("seedNoop")}, ours/seed ${f.noopOverSeedNoopRatio.toFixed(2)}`,
  );
  row(
    "no-op: `cybernode build` CLI process vs seed flow cached",
    `${sec("cliNoop")} vs ${sec("seedNoop")}, ours/seed ${f.cliOverSeedNoopRatio.toFixed(2)}`,
  );
  row(
    "  the same CLI from the TypeScript sources (tsx), not dist/",
    `${sec("cliNoopSources")}, ours/seed ${(m.cliNoopSources / m.seedNoop).toFixed(2)}`,
  );
  row("no-op: containers started (in-process, CLI)", `${noopStarts}, ${cliStarts} in ${RUNS} runs each`);
  row(
    "last step changed: ours vs seed flow cached",
    `${sec("lastOurs")} vs ${sec("lastSeed")}, ours/seed ${f.lastStepOverSeedRatio.toFixed(2)}`,
  );
  row("steps rerun after changing the last step", String(f.lastStepChangeStepsRerun));
  row(
    "cold (all steps rerun, caches warm): ours vs raw docker run",
    `${sec("coldOurs")} vs ${sec("coldRaw")}, ours/raw ${f.coldOverheadRatio.toFixed(2)}`,
  );
  row(
    "  of which ours' build steps (committed one by one)",
    `${sec("coldOursSteps")} in ${median(coldContainers)} container(s) for ${loaded.spec.build.steps.length} steps`,
  );
  const r = (xs: number[]) => `${median(xs).toFixed(2)} s [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`;
  if (real) {
    row(
      "btcd cold (all steps rerun, Go caches warm): ours vs raw run",
      `${r(real.ours)} vs ${r(real.raw)}, ours/raw ${f.btcdColdOverheadRatio?.toFixed(2)} (${real.ours.length} rounds)`,
    );
  }
  if (first) {
    row(
      "btcd first build (no step images, empty Go caches): ours vs raw",
      `${r(first.ours)} vs ${r(first.raw)}, ours/raw ${f.btcdFirstBuildOverheadRatio?.toFixed(2)} (${first.ours.length} rounds; per round ${f.btcdFirstBuildRoundRatios?.map((x) => x.toFixed(2)).join(", ")})`,
    );
  }
  if (s.seedForced.length)
    row("seed flow forced full rebuild (--no-cache), not a no-op", `${sec("seedForced")} (${s.seedForced.length} runs)`);
  row("run image size - artifact bytes", `${f.runImageOverheadBytes} B (image ${size} B, artifacts ${artifactBytes} B)`);
  row("layer tar - artifact bytes", `${f.layerTarOverheadBytes} B`);
  row(
    "extraction vs raw docker cp (median)",
    `${f.extractionSeconds.toFixed(3)} s vs ${f.rawDockerCpSeconds.toFixed(3)} s, throughput ratio ${f.extractionThroughputRatio.toFixed(2)}`,
  );
  row("two clean assemblies", f.deterministic ? `same ID ${ids[0].slice(0, 19)}…` : `DIFFERENT: ${ids.join(" ")}`);
  console.log(JSON.stringify(f));
}

async function layerBytes(imageId: string): Promise<number> {
  const out = execFileSync("sh", ["-c", `docker save ${imageId} | tar -tv --wildcards '*/layer.tar'`]).toString();
  return out
    .split("\n")
    .filter(Boolean)
    .reduce((n, l) => n + Number(l.split(/\s+/)[2]), 0);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
