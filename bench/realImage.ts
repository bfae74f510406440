/**
 * The real-image pair of `npm run bench`: btcd's steps cold (Go caches warm) through the builder against the
 * same commands in one plain `docker run` (bench/anchors.ts rawStepsRun).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../src/build/builder";
import { backgroundCleanups } from "../src/docker/temporaries";
import { type LoadedSpec, loadSpec } from "../src/spec/load";
import { now, removeTestImages } from "../tests/helpers/docker";
import { quiet, REPO, rawStepsRun, unique } from "./anchors";

/** The spec with its build steps changed (the result has other step keys). */
export function withSteps(loaded: LoadedSpec, change: (steps: string[]) => string[]): LoadedSpec {
  const build = { ...loaded.spec.build, steps: change([...loaded.spec.build.steps]) };
  return { ...loaded, spec: { ...loaded.spec, build } };
}

/**
 * btcd from images/ under another name and folder (its own step tags and bin/), BENCH_REAL_RUNS rounds
 * (default 3, 0 skips): a unique comment on the first step makes every step run; caches stay warm.
 */
export async function realImageCold(): Promise<{ ours: number[]; raw: number[] } | null> {
  const rounds = Number(process.env.BENCH_REAL_RUNS ?? 3);
  if (rounds <= 0) return null;
  const name = "fullnode/btcd-bench";
  const dir = mkdtempSync(join(tmpdir(), "cybernode-bench-btcd-"));
  const original = loadSpec(join(REPO, "images"), "fullnode/btcd");
  const loaded: LoadedSpec = { ...original, dir, spec: { ...original.spec, name } };
  const empty = mkdtempSync(join(tmpdir(), "cybernode-bench-empty-"));
  const ours: number[] = [];
  const raw: number[] = [];
  try {
    await buildImage(loaded, quiet); // warm-up: Go module and build caches
    for (let i = 0; i < rounds; i++) {
      const tag = `${i} ${unique()}`;
      const changed = withSteps(loaded, ([first, ...rest]) => [`${first} # bench cold ${tag}`, ...rest]);
      const pair: (() => Promise<void>)[] = [
        async () => {
          const t0 = now();
          const r = await buildImage(changed, quiet);
          if (r.stepsRun !== r.stepsTotal) throw new Error(`btcd cold build ran ${r.stepsRun} of ${r.stepsTotal} steps`);
          ours.push(now() - t0);
        },
        async () => void raw.push(rawStepsRun(changed.spec, empty)),
      ];
      for (const f of i % 2 ? pair.reverse() : pair) {
        await f();
        await backgroundCleanups(); // the build container's exit, after the build returned
      }
    }
  } finally {
    await removeTestImages(name);
    rmSync(dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
  return { ours, raw };
}
