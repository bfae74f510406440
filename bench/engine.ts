/**
 * `npm run bench:engine`: what the real Pulumi engine costs on top of the builder, measured side by
 * side in one run through the Automation API with the project's program (as tests/engine runs it):
 *   - no-op `up` and no-op `preview` of an images-only stack with 3 images vs an empty stack (the
 *     engine's own fixed cost: CLI start, plugin start, state file) as the anchor;
 *   - first `up` of a new stack whose step caches are warm (a new checkout on a build host: bin/ is
 *     missing, the run images are already loaded).
 * Needs Docker, the test base images and the Pulumi CLI (bash scripts/install-pulumi.sh).
 * BENCH_RUNS (default 5) sets the repetitions; medians are printed with every sample.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { requireDocker } from "../tests/helpers/docker";
import { median, secondsOf } from "./anchors";
import { engineStack, imagesFolder, imagesOnlyConfig, newBackend, pulumiRoot } from "../tests/helpers/engine";

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const NAMES = ["fullnode/fixa", "fullnode/fixb", "fullnode/fixc"];

async function main(): Promise<void> {
  pulumiRoot();
  await requireDocker();
  const backend = newBackend();
  const images = imagesFolder(NAMES.map((n) => n.split("/")[1]));
  const empty = await engineStack("empty", backend, imagesOnlyConfig(images.root, []));
  const three = await engineStack("three", backend, imagesOnlyConfig(images.root, NAMES));
  const coldUp = await secondsOf(() => three.up()); // builds (from whatever cache there is) and loads
  await empty.up();

  const samples = {
    emptyPreview: [] as number[],
    threePreview: [] as number[],
    emptyUp: [] as number[],
    threeUp: [] as number[],
    firstUpWarm: [] as number[],
  };
  const noop = (s: Stack) => s.up({ expectNoChanges: true });
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift on a noisy machine hits both sides alike.
    samples.emptyPreview.push(await secondsOf(() => empty.preview({ expectNoChanges: true })));
    samples.threePreview.push(await secondsOf(() => three.preview({ expectNoChanges: true })));
    samples.emptyUp.push(await secondsOf(() => noop(empty)));
    samples.threeUp.push(await secondsOf(() => noop(three)));
    // A new stack and a new images folder (no bin/): steps come from the cache, bin/ is extracted again.
    const fresh = imagesFolder(NAMES.map((n) => n.split("/")[1]));
    const stack = await engineStack(`first-${i}`, backend, imagesOnlyConfig(fresh.root, NAMES));
    samples.firstUpWarm.push(await secondsOf(() => stack.up()));
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof samples, number>;
  const f = (x: number) => `${x.toFixed(2)} s`;
  console.log(`real Pulumi engine (Automation API, file backend), medians of ${RUNS}, side by side:`);
  console.log(
    `  no-op preview: 3-image stack ${f(m.threePreview)} vs empty stack ${f(m.emptyPreview)} (×${(m.threePreview / m.emptyPreview).toFixed(2)})`,
  );
  console.log(`  no-op up:      3-image stack ${f(m.threeUp)} vs empty stack ${f(m.emptyUp)} (×${(m.threeUp / m.emptyUp).toFixed(2)})`);
  console.log(
    `  first up of a new 3-image stack, warm step caches: ${f(m.firstUpWarm)} (×${(m.firstUpWarm / m.emptyUp).toFixed(2)} the empty no-op up)`,
  );
  console.log(`  first up of the bench stack (caches as found): ${f(coldUp)}`);
  console.log(JSON.stringify({ runs: RUNS, medians: m, samples, coldUp }));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
