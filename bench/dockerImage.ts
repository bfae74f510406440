/**
 * The main job against what a Pulumi user writes without this project, side by side in one run, through
 * the real CLI as typed (`pulumi preview`, `pulumi up --yes --skip-preview`):
 *   - ours: an images-only stack of this project with 3 copies of the fixture image (fresh checkout);
 *   - anchor: a plain JavaScript Pulumi program with 3 `docker.Image` resources (@pulumi/docker 5.2.0,
 *     BuildKit, `skipPush: true`), each a multi-stage Dockerfile with the same base, the same commands
 *     and the go-build cache as a BuildKit cache mount, i.e. what the fixture spec says, as a
 *     Dockerfile; Docker's layer cache and the cache mount on, as its users run it;
 *   - floors: an empty JavaScript stack, and this project's program with no images.
 * Rows: no-op preview, no-op up, one image's source file edited then `up`, and the program's own start.
 * Part of `npm run bench:engine`; `npm run bench:docker-image` runs it alone. BENCH_RUNS (default 5).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { requireDocker } from "../tests/helpers/docker";
import { Checkout, tail } from "../tests/helpers/checkout";
import { pulumiRoot } from "../tests/helpers/engine";
import { median, secondsOf } from "./anchors";

const IMAGES = ["benchfix1", "benchfix2", "benchfix3"];
/** The go-build cache of the bench's images on both sides, apart from every other build's. */
const CACHE = "bench-go-build";
const BASE = "cybernode-test/golang:1.26-bookworm";

/** The fixture spec's build and run as a Dockerfile (tests/fixtures/images/fullnode/fixnode.ts). */
export function fixtureDockerfile(base: string): string {
  return [
    `FROM ${base} AS build`,
    "ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath",
    "WORKDIR /cyberinputs",
    "COPY go.mod main.go ./",
    "RUN mkdir -p /out",
    `RUN --mount=type=cache,id=${CACHE},target=/root/.cache/go-build go build -ldflags '-s -w -X main.version=1.0.0' -o /out/fixnode .`,
    "RUN /out/fixnode --version | cut -d' ' -f2 > /out/VERSION",
    "FROM scratch",
    "COPY --from=build /out/fixnode /cyberapp/fixnode",
    "ENV HOME=/cyberdata",
    "VOLUME /cyberdata",
    "EXPOSE 18333 18545",
    "USER 1000:1000",
    'LABEL version="1.0.0" org.cybernode.chain="fixture"',
    'ENTRYPOINT ["/cyberapp/fixnode", "--datadir=/cyberdata"]',
    "",
  ].join("\n");
}

/** The anchor's program: one docker.Image per image folder, as the provider's docs show it. */
export function anchorProgram(names: string[]): string {
  return [
    'const docker = require("@pulumi/docker");',
    `for (const name of ${JSON.stringify(names)}) {`,
    "  new docker.Image(name, {",
    "    imageName: `anchor/${name}:latest`,",
    '    build: { context: `./${name}`, dockerfile: `./${name}/Dockerfile`, builderVersion: "BuilderBuildKit" },',
    "    skipPush: true,",
    "  });",
    "}",
    "",
  ].join("\n");
}

/**
 * The anchor's and the empty stack's Pulumi.yaml. `typescript: false` as in this project's: without it the
 * language host loads ts-node and TypeScript for a JavaScript program (~0.25 s of every run), a cost a
 * user who knows the option does not pay.
 */
const project = (name: string) =>
  `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nbackend:\n  url: file://./.pulumi-state\n`;

export async function dockerImageBench(runs: number): Promise<Record<string, number>> {
  pulumiRoot();
  await requireDocker();
  const co = await Checkout.installed();
  const must = async (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await co.run(join(co.dir, "node_modules/.bin/pulumi"), ["--cwd", cwd, ...args], { env });
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} in ${cwd}: ${tail(r.stdout)}\n${tail(r.stderr)}`);
  };
  try {
    // Ours: the images-only stack, and the same program with no images.
    // Each copy a program of its own (one constant differs), so neither side can build one for all three.
    for (const n of IMAGES) {
      co.addFixtureImage(n, (t) => t.replace('"go-build"', `"${CACHE}"`), "bench-images");
      const go = `bench-images/fullnode/${n}/main.go`;
      co.write(go, `${co.read(go)}\nconst benchCopy = "${n}"\n`);
    }
    await co.newStack("three", { imagesDirs: ["bench-images"], images: IMAGES.map((n) => `fullnode/${n}`) });
    await co.newStack("noimages", { imagesDirs: ["bench-images"], images: [] });
    // The anchor and the empty JS stack, beside the checkout, with its node_modules.
    const anchor = join(co.dir, "anchor");
    const empty = join(co.dir, "emptyjs");
    co.write("anchor/Pulumi.yaml", project("anchor"));
    co.write("anchor/index.js", anchorProgram(IMAGES));
    co.write("emptyjs/Pulumi.yaml", project("emptyjs"));
    co.write("emptyjs/index.js", "// nothing\n");
    for (const d of [anchor, empty]) {
      co.write(`${d.slice(co.dir.length + 1)}/package.json`, '{ "name": "bench", "main": "index.js" }\n');
      mkdirSync(join(d, ".pulumi-state"));
      symlinkSync(join(co.dir, "node_modules"), join(d, "node_modules"));
    }
    for (const n of IMAGES) {
      co.write(`anchor/${n}/Dockerfile`, fixtureDockerfile(BASE));
      for (const f of ["go.mod", "main.go"]) co.write(`anchor/${n}/${f}`, co.read(`bench-images/fullnode/${n}/${f}`));
    }
    for (const d of [anchor, empty]) await must(d, ["stack", "init", "bench"]);
    const ours = (args: string[], stack: string, env: NodeJS.ProcessEnv = {}) => must(co.dir, [...args, "--stack", stack], env);
    // The program from its TypeScript sources through tsx, as it ran before it was compiled ahead.
    const fromSources = { CYBERNODE_NO_BUNDLE: "program" };
    const theirs = (args: string[], dir: string) => must(dir, [...args, "--stack", "bench"]);
    // First ups (builds on both sides), then the timed rounds.
    await ours(["up", "--yes"], "three");
    await ours(["up", "--yes"], "noimages");
    await theirs(["up", "--yes"], anchor);
    await theirs(["up", "--yes"], empty);

    const s = {
      previewOurs: [] as number[],
      previewAnchor: [] as number[],
      previewEmpty: [] as number[],
      previewNoImages: [] as number[],
      previewOursSources: [] as number[],
      previewNoImagesSources: [] as number[],
      upOurs: [] as number[],
      upAnchor: [] as number[],
      upEmpty: [] as number[],
      editOurs: [] as number[],
      editAnchor: [] as number[],
      coldOurs: [] as number[],
      coldAnchor: [] as number[],
    };
    const mainGo = "main.go";
    for (let i = 0; i < runs; i++) {
      s.previewOurs.push(await secondsOf(() => ours(["preview"], "three")));
      s.previewAnchor.push(await secondsOf(() => theirs(["preview"], anchor)));
      s.previewEmpty.push(await secondsOf(() => theirs(["preview"], empty)));
      s.previewNoImages.push(await secondsOf(() => ours(["preview"], "noimages")));
      s.previewOursSources.push(await secondsOf(() => ours(["preview"], "three", fromSources)));
      s.previewNoImagesSources.push(await secondsOf(() => ours(["preview"], "noimages", fromSources)));
      s.upOurs.push(await secondsOf(() => ours(["up", "--yes", "--skip-preview"], "three")));
      s.upAnchor.push(await secondsOf(() => theirs(["up", "--yes", "--skip-preview"], anchor)));
      s.upEmpty.push(await secondsOf(() => theirs(["up", "--yes", "--skip-preview"], empty)));
      // One source file edited (a comment: both sides rebuild it, and the binary comes out the same): up.
      const edit = `\n// bench round ${i}\n`;
      const oursGo = `bench-images/fullnode/${IMAGES[0]}/${mainGo}`;
      co.write(oursGo, co.read(oursGo) + edit);
      s.editOurs.push(await secondsOf(() => ours(["up", "--yes", "--skip-preview"], "three")));
      const theirGo = `anchor/${IMAGES[0]}/${mainGo}`;
      co.write(theirGo, co.read(theirGo) + edit);
      s.editAnchor.push(await secondsOf(() => theirs(["up", "--yes", "--skip-preview"], anchor)));
    }
    // Cold: every cache of these builds emptied on both sides (ours: the step images and the go-build
    // volume; the anchor: BuildKit's cache, cache mounts included), then a source edit and `up`.
    const coldRuns = Math.max(1, Number(process.env.BENCH_COLD_RUNS ?? 2));
    for (let i = 0; i < coldRuns; i++) {
      const cleaned = await co.run("node", [
        "bin/cybernode.js",
        "clean",
        ...IMAGES.map((n) => `fullnode/${n}`),
        "--images",
        "bench-images",
      ]);
      if (cleaned.code !== 0) throw new Error(`cybernode clean: ${cleaned.stderr}`);
      spawnSync("docker", ["volume", "rm", `cybernode-cache-${CACHE}`], { stdio: "ignore" });
      const pruned = spawnSync("docker", ["builder", "prune", "-af"], { encoding: "utf8" });
      if (pruned.status !== 0) throw new Error(`docker builder prune -af: ${pruned.stderr}`);
      const edit = `\n// cold round ${i}\n`;
      for (const n of IMAGES)
        for (const side of [`bench-images/fullnode/${n}`, `anchor/${n}`])
          co.write(`${side}/${mainGo}`, co.read(`${side}/${mainGo}`) + edit);
      s.coldOurs.push(await secondsOf(() => ours(["up", "--yes", "--skip-preview"], "three")));
      s.coldAnchor.push(await secondsOf(() => theirs(["up", "--yes", "--skip-preview"], anchor)));
    }
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, median(v)])) as Record<keyof typeof s, number>;
    const f = (x: number) => `${x.toFixed(2)} s`;
    const r = (a: number, b: number) => `×${(a / b).toFixed(2)}`;
    console.log(`against docker.Image (real CLI as typed, 3 images each, fresh checkout), medians of ${runs}, side by side:`);
    console.log(
      `  no-op pulumi preview: ours ${f(m.previewOurs)} | 3 × docker.Image ${f(m.previewAnchor)} (${r(m.previewOurs, m.previewAnchor)}) | empty JS stack ${f(m.previewEmpty)}`,
    );
    console.log(
      `  no-op pulumi up --skip-preview: ours ${f(m.upOurs)} | 3 × docker.Image ${f(m.upAnchor)} (${r(m.upOurs, m.upAnchor)}) | empty JS stack ${f(m.upEmpty)}`,
    );
    console.log(`  one source file edited, up: ours ${f(m.editOurs)} | docker.Image ${f(m.editAnchor)} (${r(m.editOurs, m.editAnchor)})`);
    console.log(
      `  cold: 3 images with empty caches (ours after cybernode clean + its cache volume, the anchor after docker builder prune -af), up: ours ${f(m.coldOurs)} | docker.Image ${f(m.coldAnchor)} (${r(m.coldOurs, m.coldAnchor)}), ${coldRuns} round(s)`,
    );
    console.log(
      `  the program's own start (no images): preview ${f(m.previewNoImages)} | empty JS stack ${f(m.previewEmpty)} (${r(m.previewNoImages, m.previewEmpty)})`,
    );
    console.log(
      `  the same previews with the program from its sources (tsx): ours ${f(m.previewOursSources)} (${r(m.previewOursSources, m.previewAnchor)} docker.Image) | no images ${f(m.previewNoImagesSources)} (${r(m.previewNoImagesSources, m.previewEmpty)} empty JS)`,
    );
    console.log(JSON.stringify({ dockerImage: { runs, medians: m, samples: s } }));
    return m;
  } finally {
    co.remove();
    spawnSync("docker", ["rmi", ...IMAGES.map((n) => `anchor/${n}:latest`)], { stdio: "ignore" });
  }
}

if (require.main === module)
  dockerImageBench(Math.max(3, Number(process.env.BENCH_RUNS ?? 5))).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
