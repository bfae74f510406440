/**
 * `npm run bench:engine`: what the real Pulumi engine costs on top of the builder, measured side by
 * side in one run through the Automation API with the project's program (as tests/engine runs it):
 *   - no-op `up` and no-op `preview` of an images-only stack with 3 images vs an empty stack (the
 *     engine's own fixed cost: CLI start, state file) as the anchor, and beside them the floor: a stack
 *     of the same shape whose plugin answers every call at once (stubPlugin.ts);
 *   - first `up` of a new stack whose step caches are warm (a new checkout on a build host: bin/ is
 *     missing, the run images are already loaded);
 *   - parallel images: an `up` that rebuilds 3 images with cold steps vs one that rebuilds 1 of them.
 * Then the deploy figures of bench/deploy.ts (real CLI, containers) and the main job against 3
 * docker.Image resources built from Dockerfiles (bench/dockerImage.ts, real CLI).
 * Needs Docker, the test base images and the Pulumi CLI (bash scripts/install-pulumi.sh).
 * BENCH_RUNS (default 5) sets the repetitions; medians are printed with every sample.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { removeTestImages, requireDocker } from "../tests/helpers/docker";
import { median, requireFreshPlugin, secondsOf } from "./anchors";
import { join } from "node:path";
import { engineStack, imagesFolder, imagesOnlyConfig, newBackend, PROJECT, pulumiRoot } from "../tests/helpers/engine";
import { STUB_PACKAGE, startSeconds, stubPlugin, stubProgram } from "./stubPlugin";
import { deployBench } from "./deploy";
import { dockerImageBench } from "./dockerImage";

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const NAMES = ["fullnode/fixa", "fullnode/fixb", "fullnode/fixc"];
const PARALLEL = ["fullnode/fixpa", "fullnode/fixpb", "fullnode/fixpc"];

async function main(): Promise<void> {
  requireFreshPlugin();
  pulumiRoot();
  await requireDocker();
  const backend = newBackend();
  const images = imagesFolder(NAMES.map((n) => n.split("/")[1]));
  const empty = await engineStack("empty", backend, imagesOnlyConfig(images.root, []));
  const three = await engineStack("three", backend, imagesOnlyConfig(images.root, NAMES));
  // Its own backend folder: every engineStack rewrites its backend's Pulumi.yaml, which lists this plugin.
  const stub = await stubPlugin();
  const floor = await engineStack("floor", newBackend(), {}, { program: stubProgram, plugins: [stub] });
  const coldUp = await secondsOf(() => three.up()); // builds (from whatever cache there is) and loads
  await empty.up();
  await floor.up();

  const samples = {
    emptyPreview: [] as number[],
    threePreview: [] as number[],
    emptyUp: [] as number[],
    threeUp: [] as number[],
    floorPreview: [] as number[],
    floorUp: [] as number[],
    firstUpWarm: [] as number[],
    coldSingleUp: [] as number[],
    coldTripleUp: [] as number[],
    pluginStart: [] as number[],
    stubStart: [] as number[],
    nodeStart: [] as number[],
  };
  // What a plugin process costs before the engine can call it: ours, the floor's stub, bare Node.
  for (let i = 0; i < 2 * RUNS; i++) {
    samples.pluginStart.push(await startSeconds(join(PROJECT, "bin/pulumi-resource-cybernode-images")));
    samples.stubStart.push(await startSeconds(join(stub.path, `pulumi-resource-${STUB_PACKAGE}`)));
    samples.nodeStart.push(await startSeconds(process.execPath, ["-e", "console.log(0)"]));
  }
  const noop = (s: Stack) => s.up({ expectNoChanges: true });
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift on a noisy machine hits both sides alike.
    samples.emptyPreview.push(await secondsOf(() => empty.preview({ expectNoChanges: true })));
    samples.threePreview.push(await secondsOf(() => three.preview({ expectNoChanges: true })));
    samples.emptyUp.push(await secondsOf(() => noop(empty)));
    samples.threeUp.push(await secondsOf(() => noop(three)));
    samples.floorPreview.push(await secondsOf(() => floor.preview({ expectNoChanges: true })));
    samples.floorUp.push(await secondsOf(() => noop(floor)));
    // A new stack and a new images folder (no bin/): steps come from the cache, bin/ is extracted again.
    const fresh = imagesFolder(NAMES.map((n) => n.split("/")[1]));
    const stack = await engineStack(`first-${i}`, backend, imagesOnlyConfig(fresh.root, NAMES));
    samples.firstUpWarm.push(await secondsOf(() => stack.up()));
  }
  // Parallel images: 3 images with cold steps (a 3 s I/O-bound first step, then the fixture's build) in one
  // up, against one such image alone; both stacks exist, each round changes the first step of every image.
  const para = imagesFolder(PARALLEL.map((n) => n.split("/")[1]));
  const coldFirstStep = (name: string, tag: string) =>
    para.write(name.split("/")[1], (s) =>
      s.replace('steps: [\n      "mkdir -p /out",', `steps: [\n      "sleep 3 # ${tag}",\n      "mkdir -p /out",`),
    );
  const single = await engineStack("para-one", backend, imagesOnlyConfig(para.root, PARALLEL.slice(0, 1)));
  const triple = await engineStack("para-three", backend, imagesOnlyConfig(para.root, PARALLEL));
  await single.up();
  await triple.up();
  for (let i = 0; i < RUNS; i++) {
    for (const which of i % 2 ? ["triple", "single"] : ["single", "triple"]) {
      const tag = `${which} ${i} ${Math.random().toString(36).slice(2, 8)}`;
      for (const n of which === "single" ? PARALLEL.slice(0, 1) : PARALLEL) coldFirstStep(n, tag);
      const seconds = await secondsOf(() => (which === "single" ? single : triple).up());
      (which === "single" ? samples.coldSingleUp : samples.coldTripleUp).push(seconds);
    }
  }

  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof samples, number>;
  const f = (x: number) => `${x.toFixed(2)} s`;
  console.log(`real Pulumi engine (Automation API, file backend), medians of ${RUNS}, side by side:`);
  console.log(
    `  no-op preview: 3-image stack ${f(m.threePreview)} vs empty stack ${f(m.emptyPreview)} (×${(m.threePreview / m.emptyPreview).toFixed(2)})`,
  );
  console.log(`  no-op up:      3-image stack ${f(m.threeUp)} vs empty stack ${f(m.emptyUp)} (×${(m.threeUp / m.emptyUp).toFixed(2)})`);
  console.log(
    `  floor (a plugin that answers at once, 3 components × 3 resources): preview ${f(m.floorPreview)} (×${(m.floorPreview / m.emptyPreview).toFixed(2)}), up ${f(m.floorUp)} (×${(m.floorUp / m.emptyUp).toFixed(2)})`,
  );
  console.log(
    `  plugin start (exec to port printed): ours ${f(m.pluginStart)}, the floor's stub ${f(m.stubStart)}, bare node ${f(m.nodeStart)}` +
      (process.env.NODE_EXTRA_CA_CERTS
        ? " (NODE_EXTRA_CA_CERTS is set: bare node reads that file at start; both plugins start without it, bin/node-no-extra-ca)"
        : ""),
  );
  console.log(
    `  first up of a new 3-image stack, warm step caches: ${f(m.firstUpWarm)} (×${(m.firstUpWarm / m.emptyUp).toFixed(2)} the empty no-op up)`,
  );
  console.log(`  first up of the bench stack (caches as found): ${f(coldUp)}`);
  console.log(
    `  cold steps (3 s I/O-bound step + fixture build): up of 3 images ${f(m.coldTripleUp)} vs 1 image ${f(m.coldSingleUp)} (×${(m.coldTripleUp / m.coldSingleUp).toFixed(2)})`,
  );
  console.log(JSON.stringify({ runs: RUNS, medians: m, samples, coldUp }));
  await deployBench(RUNS);
  await dockerImageBench(RUNS);
}

main()
  .catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  })
  // Each round's step images (a new tag per changed first step) and the run images are the bench's own.
  .finally(async () => {
    for (const name of [...NAMES, ...PARALLEL]) await removeTestImages(name);
  });
