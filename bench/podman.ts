/**
 * `npm run bench:podman`: the fixture on Podman's API service beside the same builds on Docker, in
 * interleaved rounds (medians): the no-op rebuild as a whole `cybernode build` CLI process, and a cold
 * build (every step reruns: new keys; the Go build cache volume warm on both engines). Also checks that
 * both engines end with the same run image ID. Needs Docker, Podman (bash scripts/start-podman.sh)
 * and the test base images. BENCH_RUNS (default 5) sets the rounds.
 */
import { rmSync } from "node:fs";
import { buildImage } from "../src/builder/builder";
import { backgroundCleanups } from "../src/docker/temporaries";
import { onDockerHost } from "../src/docker/cli";
import type { LoadedSpec } from "../src/imageSpec/load";
import { now, removeTestImages, requireDocker, testBaseMap } from "../tests/helpers/docker";
import { startPodmanService } from "../tests/helpers/podmanHost";
import { benchImages, cliBuild, median } from "./anchors";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const quiet = { baseMap: testBaseMap(), log: () => {} };

/** The spec with a comment on its first step: new keys, so every step reruns. */
function cold(loaded: LoadedSpec, tag: string): LoadedSpec {
  const [first, ...rest] = loaded.spec.build.steps;
  return { ...loaded, spec: { ...loaded.spec, build: { ...loaded.spec.build, steps: [`${first} # bench cold ${tag}`, ...rest] } } };
}

async function main(): Promise<void> {
  await requireDocker();
  const podman = await startPodmanService();
  const name = "fullnode/fixnode-podman-bench";
  const { root, loaded } = benchImages(name);
  const engines = { docker: "", podman: podman.host } as const;
  const on = <T>(engine: keyof typeof engines, fn: () => Promise<T>) => onDockerHost(engines[engine], fn);
  const s = { noopDocker: [] as number[], noopPodman: [] as number[], coldDocker: [] as number[], coldPodman: [] as number[] };
  try {
    // Warm-up, not measured: step images, cache volumes, tsx's transpile cache, on both engines.
    const ids = [await on("docker", () => buildImage(loaded, quiet)), await on("podman", () => buildImage(loaded, quiet))].map(
      (r) => r.imageId,
    );
    for (const e of ["docker", "podman"] as const) cliBuild(root, name, { DOCKER_HOST: engines[e] });
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 ? (["podman", "docker"] as const) : (["docker", "podman"] as const);
      for (const e of order) {
        const t0 = now();
        const out = cliBuild(root, name, { DOCKER_HOST: engines[e] }).stdout;
        if (!/^steps\s+0 of \d+ ran/m.test(out)) throw new Error(`${e}: the CLI build was not a no-op:\n${out}`);
        (e === "docker" ? s.noopDocker : s.noopPodman).push(now() - t0);
      }
      const tag = `${i}-${Math.random().toString(36).slice(2, 8)}`;
      for (const e of order) {
        const t0 = now();
        const r = await on(e, () => buildImage(cold(loaded, tag), quiet));
        if (r.stepsRun !== r.stepsTotal) throw new Error(`${e}: the cold build ran ${r.stepsRun} of ${r.stepsTotal} steps`);
        (e === "docker" ? s.coldDocker : s.coldPodman).push(now() - t0);
        await backgroundCleanups(); // the build container's exit, after the build returned
      }
    }
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Math.round(median(v) * 1000) / 1000])) as Record<
      keyof typeof s,
      number
    >;
    const sec = (k: keyof typeof s) => `${m[k].toFixed(3)} s [${Math.min(...s[k]).toFixed(2)}–${Math.max(...s[k]).toFixed(2)}]`;
    const row = (k: string, v: string) => console.log(`${k.padEnd(52)} ${v}`);
    console.log(`medians of ${RUNS} interleaved rounds [min–max]`);
    row(
      "no-op `cybernode build` CLI: Podman vs Docker",
      `${sec("noopPodman")} vs ${sec("noopDocker")}, ×${(m.noopPodman / m.noopDocker).toFixed(2)}`,
    );
    row(
      "cold fixture build (3 steps): Podman vs Docker",
      `${sec("coldPodman")} vs ${sec("coldDocker")}, ×${(m.coldPodman / m.coldDocker).toFixed(2)}`,
    );
    row("run image ID on both engines", ids[0] === ids[1] ? `same ${ids[0].slice(0, 19)}…` : `DIFFERENT: ${ids.join(" ")}`);
    console.log(
      JSON.stringify({
        runs: RUNS,
        ...m,
        noopRatio: m.noopPodman / m.noopDocker,
        coldRatio: m.coldPodman / m.coldDocker,
        sameImageId: ids[0] === ids[1],
        samples: s,
      }),
    );
  } finally {
    await removeTestImages(name);
    await on("podman", () => removeTestImages(name));
    await podman.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
