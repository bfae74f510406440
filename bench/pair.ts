/**
 * The Ethereum pair (geth and the Prysm beacon node, stacks/Pulumi.eth.yaml's shape), side by side in
 * one run, through the real CLI as a user types it in a fresh copy of the working tree:
 *   - from nothing to both nodes healthy: `pulumi up --yes` against what an operator types without this
 *     project for the same settings: a JWT with openssl, `docker network create`, `docker run` geth,
 *     wait for it to be healthy, `docker run` the beacon node (images already built on both sides);
 *   - no-op `pulumi preview` of the pair stack, against a stack of the same two images without nodes
 *     (what the nodes, their network, data folders and shared secret add) and an empty stack;
 *   - bytes of the secret in the state file (0).
 * geth runs mainnet without peers and the beacon node from mainnet's genesis without discovery, as in
 * tests/deploy/eth-pair.test.ts; both check health every 5 s. `npm run bench:pair`; BENCH_RUNS (default 3).
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpec } from "../src/imageSpec/load";
import { requireDocker } from "../tests/helpers/docker";
import { Checkout, cyberUid, inspectContainer, tail } from "../tests/helpers/checkout";
import { pulumiRoot } from "../tests/helpers/engine";
import { declaredSettings, dockerRunFlags } from "../tests/helpers/nodeRun";
import { median, secondsOf } from "./anchors";

const FAST = { interval: 5, timeout: 4, retries: 3, startPeriod: 120 };
const GETH_ARGS = ["--nodiscover", "--maxpeers=0"];
const BEACON_ARGS = (geth: string) => ["--mainnet", `--execution-endpoint=http://${geth}:8551`, "--no-discovery"];

const healthy = (name: string) => inspectContainer(name)?.State?.Health?.Status === "healthy";
async function waitHealthy(names: string[], ms = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!names.every(healthy)) {
    if (Date.now() - t0 > ms) throw new Error(`${names.join(", ")} not healthy within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function pairBench(runs: number): Promise<Record<string, number>> {
  pulumiRoot();
  await requireDocker();
  const co = new Checkout();
  const data = mkdtempSync(join(tmpdir(), "cybernode-bench-pair-"));
  const uid = cyberUid();
  const pulumi = async (args: string[]) => {
    const r = await co.pulumi(args);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")}: ${tail(r.stdout)}\n${tail(r.stderr)}`);
    return r;
  };
  const sh = (line: string) => {
    const r = spawnSync("sh", ["-c", line], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${line}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const node = (image: string, args: string[], extra: Record<string, unknown> = {}) => ({ image, args, ports: [], health: FAST, ...extra });
  try {
    const ci = await co.sh("npm ci --no-audit --no-fund");
    if (ci.code !== 0) throw new Error(`npm ci: ${tail(ci.stderr)}`);
    await co.newStack("pair", {
      uid: String(uid),
      dataRoot: `${data}/pair`,
      sharedSecrets: { "engine-jwt": { file: "jwt.hex" } },
      nodes: {
        "bench-geth": node("fullnode/geth", GETH_ARGS, { secrets: ["engine-jwt"] }),
        "bench-beacon": node("fullnode/beacon", BEACON_ARGS("bench-geth"), { secrets: ["engine-jwt"], after: ["bench-geth"] }),
      },
    });
    await co.newStack("pairimages", { images: ["fullnode/geth", "fullnode/beacon"] });
    await co.newStack("empty", { images: [] });
    // Builds (or takes from the step cache) both images once, outside the timings.
    await pulumi(["up", "--stack", "pair", "--yes"]);
    await pulumi(["up", "--stack", "pairimages", "--yes"]);
    await pulumi(["up", "--stack", "empty", "--yes"]);

    const images = Object.fromEntries(["bench-geth", "bench-beacon"].map((n) => [n, inspectContainer(n).Image as string])) as Record<
      string,
      string
    >;
    const specs = {
      geth: loadSpec(join(co.dir, "images"), "fullnode/geth").spec,
      beacon: loadSpec(join(co.dir, "images"), "fullnode/beacon").spec,
    };
    const raw = join(data, "raw");
    const health = ["--health-interval", "5s", "--health-timeout", "4s", "--health-retries", "3", "--health-start-period", "120s"];
    const rawRun = (name: string, spec: typeof specs.geth, image: string, args: string[]) =>
      [
        "docker run -d --name",
        name,
        ...dockerRunFlags(declaredSettings(name, spec, args, [], uid)).map((f) => `'${f}'`),
        ...health,
        "--network raw-pair",
        `-v ${raw}/${name}:/cyberdata -v ${raw}/jwt.hex:/cybersecrets/jwt.hex:ro`,
        image,
        ...spec.container.args,
        ...args,
        ">/dev/null",
      ].join(" ");

    const s = {
      upOurs: [] as number[],
      upRaw: [] as number[],
      previewPair: [] as number[],
      previewImages: [] as number[],
      previewEmpty: [] as number[],
    };
    let secretInState = 0;
    for (let i = 0; i < runs; i++) {
      s.previewPair.push(await secondsOf(() => pulumi(["preview", "--stack", "pair"])));
      s.previewImages.push(await secondsOf(() => pulumi(["preview", "--stack", "pairimages"])));
      s.previewEmpty.push(await secondsOf(() => pulumi(["preview", "--stack", "empty"])));
      const secret = readFileSync(join(data, "pair/.secrets/engine-jwt/jwt.hex"), "utf8");
      secretInState += co.stateText("pair").split(secret).length - 1;

      // From nothing: the containers, the network and the data go; the images stay (built on both sides).
      await pulumi(["destroy", "--stack", "pair", "--yes"]);
      rmSync(join(data, "pair"), { recursive: true, force: true });
      s.upOurs.push(
        await secondsOf(async () => {
          await pulumi(["up", "--stack", "pair", "--yes"]);
          await waitHealthy(["bench-geth", "bench-beacon"]);
        }),
      );

      rmSync(raw, { recursive: true, force: true });
      s.upRaw.push(
        await secondsOf(async () => {
          for (const d of [raw, `${raw}/raw-geth`, `${raw}/raw-beacon`]) {
            mkdirSync(d, { recursive: true });
            chownSync(d, uid, uid);
          }
          sh(`openssl rand -hex 32 | tr -d '\\n' > ${raw}/jwt.hex && chmod 600 ${raw}/jwt.hex && chown ${uid}:${uid} ${raw}/jwt.hex`);
          sh("docker network create raw-pair >/dev/null");
          sh(rawRun("raw-geth", specs.geth, images["bench-geth"], GETH_ARGS));
          await waitHealthy(["raw-geth"]);
          sh(rawRun("raw-beacon", specs.beacon, images["bench-beacon"], BEACON_ARGS("raw-geth")));
          await waitHealthy(["raw-beacon"]);
        }),
      );
      sh("docker rm -f raw-beacon raw-geth >/dev/null && docker network rm raw-pair >/dev/null");
    }
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, median(v)])) as Record<keyof typeof s, number>;
    const f = (x: number) => `${x.toFixed(2)} s`;
    const r = (a: number, b: number) => `×${(a / b).toFixed(2)}`;
    console.log(`eth pair (real CLI as typed; fresh checkout; images built), medians of ${runs}, side by side:`);
    console.log(
      `  from nothing to both nodes healthy: pulumi up ${f(m.upOurs)} | openssl + docker network create + docker run geth, wait healthy, docker run beacon ${f(m.upRaw)} (${r(m.upOurs, m.upRaw)})`,
    );
    console.log(
      `  no-op pulumi preview: pair stack ${f(m.previewPair)} | same images, no nodes ${f(m.previewImages)} (${r(m.previewPair, m.previewImages)}) | empty stack ${f(m.previewEmpty)} (${r(m.previewPair, m.previewEmpty)})`,
    );
    console.log(`  the shared secret's value in the state file: ${secretInState} times in ${runs} checks`);
    console.log(JSON.stringify({ pair: { runs, medians: m, samples: s, secretInState } }));
    return { ...m, secretInState };
  } finally {
    spawnSync("sh", ["-c", "docker rm -f raw-beacon raw-geth; docker network rm raw-pair"], { stdio: "ignore" });
    await co.pulumi(["destroy", "--stack", "pair", "--yes"]);
    co.remove();
    rmSync(data, { recursive: true, force: true });
  }
}

if (require.main === module)
  pairBench(Math.max(1, Number(process.env.BENCH_RUNS ?? 3))).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
