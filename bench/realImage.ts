/**
 * The real-image pairs of `npm run bench`: btcd through the builder against the same commands in one plain
 * `docker run` (bench/anchors.ts rawStepsRun), with its steps cold and Go caches warm (a spec edit), and as
 * a first build on a machine (no step images, empty Go caches).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../src/builder/builder";
import { CACHE_VOLUME_PREFIX } from "../src/builder/runSteps";
import { dockerMaybe } from "../src/docker/cli";
import { backgroundCleanups } from "../src/docker/temporaries";
import { type LoadedSpec, loadSpec } from "../src/imageSpec/load";
import type { ResolvedSpec } from "../src/imageSpec/validate";
import { now, removeTestImages } from "../tests/helpers/docker";
import { quiet, REPO, rawStepsRun, unique } from "./anchors";

type Pairs = { ours: number[]; raw: number[] };

/** The spec with its build steps changed (the result has other step keys). */
export function withSteps(loaded: LoadedSpec, change: (steps: string[]) => string[]): LoadedSpec {
  const build = { ...loaded.spec.build, steps: change([...loaded.spec.build.steps]) };
  return { ...loaded, spec: { ...loaded.spec, build } };
}

/**
 * btcd from images/ under another name, in a fresh folder (its own step tags and bin/), timed in `rounds`
 * pairs that alternate which side goes first. `prepare(i)` gives the round's spec and runs before each side
 * (untimed); every build of ours must run all its steps. Removes the bench's images and folders at the end.
 */
async function btcdPairs(
  name: string,
  rounds: number,
  change: (spec: ResolvedSpec) => ResolvedSpec,
  prepare: (loaded: LoadedSpec, round: number) => Promise<LoadedSpec>,
  warmUp = false,
): Promise<Pairs> {
  const original = loadSpec(join(REPO, "images"), "fullnode/btcd");
  const dir = mkdtempSync(join(tmpdir(), "cybernode-bench-btcd-"));
  const loaded: LoadedSpec = { ...original, dir, spec: change({ ...original.spec, name }) };
  const empty = mkdtempSync(join(tmpdir(), "cybernode-bench-empty-"));
  const result: Pairs = { ours: [], raw: [] };
  try {
    if (warmUp) await buildImage(loaded, quiet);
    for (let i = 0; i < rounds; i++) {
      const pair: (() => Promise<void>)[] = [
        async () => {
          const round = await prepare(loaded, i);
          const t0 = now();
          const r = await buildImage(round, quiet);
          if (r.stepsRun !== r.stepsTotal) throw new Error(`${name} ran ${r.stepsRun} of ${r.stepsTotal} steps`);
          result.ours.push(now() - t0);
        },
        async () => void result.raw.push(rawStepsRun((await prepare(loaded, i)).spec, empty)),
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
  return result;
}

/**
 * btcd's steps cold with warm Go caches (what a spec edit costs), BENCH_REAL_RUNS rounds (default 3, 0
 * skips): a unique comment on the first step makes every step run.
 */
export async function realImageCold(): Promise<Pairs | null> {
  const rounds = Number(process.env.BENCH_REAL_RUNS ?? 3);
  if (rounds <= 0) return null;
  const tags: string[] = [];
  return btcdPairs(
    "fullnode/btcd-bench",
    rounds,
    (spec) => spec,
    async (loaded, i) => {
      tags[i] ??= `${i} ${unique()}`;
      return withSteps(loaded, ([first, ...rest]) => [`${first} # bench cold ${tags[i]}`, ...rest]);
    },
    true, // warm-up: Go module and build caches
  );
}

/**
 * btcd's first build on a machine: no step images, no bin/ and empty Go module and build caches, so every
 * module is downloaded (GOPROXY) and compiled, against the same commands in one `docker run` with the same
 * empty caches. BENCH_FIRST_RUNS rounds (default 3, 0 skips), about a minute per build. The caches get
 * bench-only volume names: the machine's own go-mod and go-build volumes are never emptied.
 */
export async function realImageFirstBuild(): Promise<Pairs | null> {
  const rounds = Number(process.env.BENCH_FIRST_RUNS ?? 3);
  if (rounds <= 0) return null;
  const name = "fullnode/btcd-first";
  let volumes: string[] = [];
  const firstTime = async (loaded: LoadedSpec) => {
    await removeTestImages(name);
    rmSync(join(loaded.dir, "bin"), { recursive: true, force: true });
    if (volumes.length) await dockerMaybe(["volume", "rm", "-f", ...volumes]);
    return loaded;
  };
  try {
    return await btcdPairs(
      name,
      rounds,
      (spec) => {
        const caches = spec.build.caches.map((c) => ({ ...c, name: `bench-first-${c.name}` }));
        volumes = caches.map((c) => `${CACHE_VOLUME_PREFIX}${c.name}`);
        return { ...spec, build: { ...spec.build, caches } };
      },
      firstTime,
    );
  } finally {
    if (volumes.length) await dockerMaybe(["volume", "rm", "-f", ...volumes]);
  }
}
