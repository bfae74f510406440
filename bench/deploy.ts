/**
 * Deploy figures, side by side in one run, through the real CLI as a user types it (`pulumi preview`,
 * `pulumi up --yes`) in a fresh copy of the working tree, with the real language host and Docker
 * provider (tests/helpers/deploy.ts):
 *   - no-op preview and no-op up of the local stack as shipped (2 nodes, 2 images; data in a temporary
 *     folder), against the same images without nodes and against an empty stack of this project;
 *   - replacing one node after an arg edit (`pulumi up --yes`) against what an operator types without
 *     Pulumi for the same settings: `docker stop && docker rm && docker run`. The daemon's own flush
 *     (SIGTERM to exit, from docker events) is taken out of both.
 * Part of `npm run bench:engine`; `npm run bench:deploy` runs it alone. BENCH_RUNS (default 5).
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpec } from "../src/imageSpec/load";
import { requireDocker } from "../tests/helpers/docker";
import { Checkout, engineEvents, cyberUid, inspectContainer, now, tail } from "../tests/helpers/checkout";
import { pulumiRoot } from "../tests/helpers/engine";
import { declaredSettings, dockerRunFlags } from "../tests/helpers/nodeRun";
import { median, secondsOf } from "./anchors";

const RAW = "fixnode-raw-bench";

/** The seconds between a container's SIGTERM and its exit, from the engine's events (its flush). */
function flushSeconds(since: number, name: string): number {
  const events = engineEvents(since, now(), []).filter((e) => e.name === name);
  const kill = events.find((e) => e.action === "kill")?.time;
  const die = events.find((e) => e.action === "die")?.time;
  return kill !== undefined && die !== undefined ? die - kill : 0;
}

export async function deployBench(runs: number): Promise<Record<string, number>> {
  pulumiRoot();
  await requireDocker();
  for (const n of ["fixnode", "btcd", RAW])
    if (inspectContainer(n))
      throw new Error(`container ${n} exists on this engine: the deploy bench runs the local stack's nodes under their names`);
  const co = new Checkout();
  const data = mkdtempSync(join(tmpdir(), "cybernode-bench-deploy-"));
  const uid = cyberUid();
  const pulumi = async (args: string[]) => {
    const r = await co.pulumi(args);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")}: ${tail(r.stdout)}\n${tail(r.stderr)}`);
  };
  try {
    const ci = await co.sh("npm ci --no-audit --no-fund");
    if (ci.code !== 0) throw new Error(`npm ci: ${tail(ci.stderr)}`);
    await pulumi(["stack", "init", "local"]);
    await pulumi(["config", "set", "--stack", "local", "cybernode:dataRoot", `${data}/local`]);
    const dirs = ["images", "tests/fixtures/images"];
    await co.newStack("nonodes", { imagesDirs: dirs, images: ["fullnode/btcd", "fullnode/fixnode"] });
    await co.newStack("empty", { imagesDirs: dirs, images: [] });
    for (const s of ["local", "nonodes", "empty"]) await pulumi(["up", "--stack", s, "--yes"]);

    // The anchor node: the same image and settings as the stack's fixnode, on other host ports.
    const spec = loadSpec(join(co.dir, "tests/fixtures/images"), "fullnode/fixnode").spec;
    const image = inspectContainer("fixnode").Image as string;
    const rawData = join(data, "raw");
    mkdirSync(rawData);
    chownSync(rawData, uid, uid);
    const rawRun = (delay: string) =>
      [
        "docker run -d --name",
        RAW,
        ...dockerRunFlags(declaredSettings(RAW, spec, [delay], ["28333:18333", "127.0.0.1:28545:18545"], uid)).map((f) => `'${f}'`),
        `-v ${rawData}:/cyberdata`,
        image,
        delay,
      ].join(" ");
    const sh = (line: string) => {
      const r = spawnSync("sh", ["-c", line], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${line}: ${r.stderr}`);
    };
    sh(`${rawRun("--shutdown-delay=3s")} >/dev/null`);

    const s = {
      previewLocal: [] as number[],
      previewNoNodes: [] as number[],
      previewEmpty: [] as number[],
      upLocal: [] as number[],
      upNoNodes: [] as number[],
      upEmpty: [] as number[],
      replaceUp: [] as number[],
      replaceRaw: [] as number[],
      flushUp: [] as number[],
      flushRaw: [] as number[],
    };
    const stackFile = "stacks/Pulumi.local.yaml";
    const original = co.read(stackFile);
    for (let i = 0; i < runs; i++) {
      s.previewLocal.push(await secondsOf(() => pulumi(["preview", "--stack", "local"])));
      s.previewNoNodes.push(await secondsOf(() => pulumi(["preview", "--stack", "nonodes"])));
      s.previewEmpty.push(await secondsOf(() => pulumi(["preview", "--stack", "empty"])));
      s.upLocal.push(await secondsOf(() => pulumi(["up", "--stack", "local", "--yes"])));
      s.upNoNodes.push(await secondsOf(() => pulumi(["up", "--stack", "nonodes", "--yes"])));
      s.upEmpty.push(await secondsOf(() => pulumi(["up", "--stack", "empty", "--yes"])));
      // One node replaced: its arg alternates between two flush times each round, on both sides.
      const [from, to] = i % 2 ? ["--shutdown-delay=2s", "--shutdown-delay=3s"] : ["--shutdown-delay=3s", "--shutdown-delay=2s"];
      co.write(stackFile, original.replace(`"--shutdown-delay=3s"`, `"${to}"`));
      let since = now();
      s.replaceUp.push(await secondsOf(() => pulumi(["up", "--stack", "local", "--yes"])));
      s.flushUp.push(flushSeconds(since, "fixnode"));
      since = now();
      s.replaceRaw.push(
        await secondsOf(async () => sh(`docker stop ${RAW} >/dev/null && docker rm ${RAW} >/dev/null && ${rawRun(to)} >/dev/null`)),
      );
      s.flushRaw.push(flushSeconds(since, RAW));
      if (from === to) throw new Error("the replace rounds must change the arg");
    }
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, median(v)])) as Record<keyof typeof s, number>;
    const replaceUp = median(s.replaceUp.map((x, i) => x - s.flushUp[i]));
    const replaceRaw = median(s.replaceRaw.map((x, i) => x - s.flushRaw[i]));
    const f = (x: number) => `${x.toFixed(2)} s`;
    const r = (a: number, b: number) => `×${(a / b).toFixed(2)}`;
    console.log(`deploy (real CLI as typed, language host and Docker provider 5.2.0; fresh checkout), medians of ${runs}, side by side:`);
    console.log(
      `  no-op pulumi preview: local stack (2 nodes, 2 images) ${f(m.previewLocal)} | same images, no nodes ${f(m.previewNoNodes)} (${r(m.previewLocal, m.previewNoNodes)}) | empty stack ${f(m.previewEmpty)} (${r(m.previewLocal, m.previewEmpty)})`,
    );
    console.log(
      `  no-op pulumi up --yes: local stack ${f(m.upLocal)} | no nodes ${f(m.upNoNodes)} (${r(m.upLocal, m.upNoNodes)}) | empty stack ${f(m.upEmpty)} (${r(m.upLocal, m.upEmpty)})`,
    );
    console.log(
      `  replace one node, the daemon's flush taken out (${f(m.flushUp)} / ${f(m.flushRaw)}): pulumi up ${f(replaceUp)} vs docker stop && rm && run ${f(replaceRaw)} (${r(replaceUp, replaceRaw)})`,
    );
    const medians = { ...m, replaceUpNet: replaceUp, replaceRawNet: replaceRaw };
    console.log(JSON.stringify({ deploy: { runs, medians, samples: s } }));
    return medians;
  } finally {
    spawnSync("docker", ["rm", "-f", RAW], { stdio: "ignore" });
    await co.pulumi(["destroy", "--stack", "local", "--yes"]);
    co.remove();
    rmSync(data, { recursive: true, force: true });
  }
}

if (require.main === module)
  deployBench(Math.max(3, Number(process.env.BENCH_RUNS ?? 5))).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
