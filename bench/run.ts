/**
 * `npm run bench`: the builder's figures, measured side by side in one run on the fixture image.
 * Needs Docker and the test base images (bash scripts/make-test-bases.sh). Prints a table and JSON.
 * BENCH_RUNS (default 5) sets the repetitions; the seed-style comparison uses BENCH_SEED_RUNS (default 3).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { buildImage } from "../src/build/builder";
import { extractArtifacts } from "../src/build/extract";
import { docker } from "../src/docker/cli";
import { containerEvents, fixtureSpec, now, removeTestImages, requireDocker, testBaseMap } from "../tests/helpers/docker";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SEED_RUNS = Number(process.env.BENCH_SEED_RUNS ?? 3);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quiet = { baseMap: testBaseMap(), log: () => {} };

/** The seed's build-*.sh, as it was: docker build --no-cache of the build image, docker run -v bin:/build, docker build of the run image. */
function seedStyleBuild(srcDir: string, binDir: string): void {
  const buildFile = `FROM cybernode-test/golang:1.26-bookworm\nCOPY . /src\nRUN cd /src && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w -X main.version=1.0.0' -o /go/bin/fixnode .\nCMD cp /go/bin/* /build\n`;
  const runFile = `FROM scratch\nADD bin/* /cyberapp/\nVOLUME /cyberdata\nENV HOME /cyberdata\nEXPOSE 18333 18545\nENTRYPOINT ["/cyberapp/fixnode","--datadir=/cyberdata"]\n`;
  const sh = (args: string[], input?: string) => {
    const r = spawnSync("docker", args, { input, stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, DOCKER_BUILDKIT: "0" } });
    if (r.status !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
  };
  rmSync(binDir, { recursive: true, force: true });
  sh(["build", "--no-cache", "-q", "-t", "cybernode-bench/seed-build", "-f", "-", srcDir], buildFile);
  sh(["run", "--rm", "-v", `${binDir}:/build`, "cybernode-bench/seed-build"]);
  sh(["build", "--no-cache", "-q", "-t", "cybernode-bench/seed-run", "--label", "version=1.0.0", "-f", "-", join(binDir, "..")], runFile);
}

async function main(): Promise<void> {
  await requireDocker();
  const name = "fullnode/fixnode-bench";
  await removeTestImages(name);
  const loaded = fixtureSpec(name);
  const cold = await buildImage(loaded, quiet); // warm the step cache
  const artifactBytes = cold.manifest.files.reduce((n, f) => n + f.size, 0);

  // 1. no-op rebuild: wall time and containers started
  const noop: number[] = [];
  let noopStarts = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = now();
    await buildImage(loaded, quiet);
    const t1 = now();
    noop.push(t1 - t0);
    noopStarts += await containerEvents("start", t0, t1);
  }

  // 2. seed-style rebuild of the same program (no cache, run with volume, build the run image)
  const seed: number[] = [];
  for (let i = 0; i < SEED_RUNS; i++) {
    const t0 = now();
    seedStyleBuild(loaded.dir, join(loaded.dir, "seed-bin"));
    seed.push(now() - t0);
  }
  rmSync(join(loaded.dir, "seed-bin"), { recursive: true, force: true });

  // 3. change of the last step only: steps rerun
  const lastStep: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const steps = [...loaded.spec.build.steps.slice(0, -1), `${loaded.spec.build.steps.at(-1)} # bench ${i} ${Math.random()}`];
    const r = await buildImage({ ...loaded, spec: { ...loaded.spec, build: { ...loaded.spec.build, steps } } }, quiet);
    lastStep.push(r.stepsRun);
  }

  // 4. run image size minus artifact bytes
  const size = Number(await docker(["image", "inspect", "--format", "{{.Size}}", cold.imageId]));

  // 5. extraction throughput vs raw docker cp to /dev/null
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

  // 6. determinism: two clean assemblies
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    await docker(["rmi", "-f", ...cold.tags]).catch(() => "");
    rmSync(join(loaded.dir, "bin"), { recursive: true, force: true });
    ids.push((await buildImage(loaded, quiet)).imageId);
  }

  const figures = {
    runs: RUNS,
    noopRebuildSeconds: median(noop),
    noopContainersStarted: noopStarts,
    seedStyleRebuildSeconds: median(seed),
    seedRuns: SEED_RUNS,
    seedOverNoopRatio: median(seed) / median(noop),
    lastStepChangeStepsRerun: median(lastStep),
    runImageBytes: size,
    artifactBytes,
    runImageOverheadBytes: size - artifactBytes,
    layerTarOverheadBytes: cold.manifest ? (await layerBytes(cold.imageId)) - artifactBytes : 0,
    extractionSeconds: median(ours),
    rawDockerCpSeconds: median(raw),
    extractionThroughputRatio: median(raw) / median(ours),
    cleanAssemblyIds: ids,
    deterministic: ids[0] === ids[1] && ids[0] === cold.imageId,
  };
  const row = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);
  row("no-op rebuild (median)", `${figures.noopRebuildSeconds.toFixed(3)} s, ${noopStarts} containers started in ${RUNS} runs`);
  row(
    `seed-style rebuild (median of ${SEED_RUNS})`,
    `${figures.seedStyleRebuildSeconds.toFixed(2)} s (x${figures.seedOverNoopRatio.toFixed(0)} the no-op)`,
  );
  row("steps rerun after changing the last step", String(figures.lastStepChangeStepsRerun));
  row("run image size - artifact bytes", `${figures.runImageOverheadBytes} B (image ${size} B, artifacts ${artifactBytes} B)`);
  row("layer tar - artifact bytes", `${figures.layerTarOverheadBytes} B`);
  row(
    "extraction vs raw docker cp (median)",
    `${figures.extractionSeconds.toFixed(3)} s vs ${figures.rawDockerCpSeconds.toFixed(3)} s, throughput ratio ${figures.extractionThroughputRatio.toFixed(2)}`,
  );
  row("two clean assemblies", figures.deterministic ? `same ID ${ids[0].slice(0, 19)}…` : `DIFFERENT: ${ids.join(" ")}`);
  console.log(JSON.stringify(figures));
  await removeTestImages(name);
  await docker(["rmi", "-f", "cybernode-bench/seed-build", "cybernode-bench/seed-run"]).catch(() => "");
  rmSync(loaded.dir, { recursive: true, force: true });
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
