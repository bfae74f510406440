import test from "ava";
import { processUid, walk } from "../helpers/host";
import { chownSync, existsSync, lstatSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/builder/builder";
import { listImageFiles } from "../../src/cli/inspect";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { loadSpec, type LoadedSpec } from "../../src/imageSpec/load";
import { SKIP_DOCKER, requireDocker, testBaseMap } from "../helpers/docker";
import { temporariesOf } from "../helpers/faults";
import { dockerTest } from "../helpers/dockerTest";

// Daemons from Debian bookworm packages, shared libraries bundled into scratch run images.
const IMAGES = join(__dirname, "../../images");
const RUN_ID = Math.random().toString(36).slice(2, 8);

interface Reply {
  status: number;
  body: unknown;
}

/** POSTs a JSON body to 127.0.0.1:port/path (optionally with basic auth). */
function post(port: number, path: string, body: unknown, auth?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (auth) headers.authorization = `Basic ${Buffer.from(auth).toString("base64")}`;
    const req = request({ host: "127.0.0.1", port, method: "POST", path, headers, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON (e.g. an empty 401)
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(JSON.stringify(body));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Daemon {
  spec: string;
  /** First line of `--version`. */
  versionOutput: RegExp;
  /** The `version` label (Debian package version). */
  versionLabel: RegExp;
  /** Arguments for a local, offline chain with RPC on all container addresses (after the spec's container args). */
  args: string[];
  rpcPort: number;
  /** One block-count call: the count, or undefined while the daemon is not ready. */
  blockCount: (port: number) => Promise<number | undefined>;
  /** The block count of a fresh chain. */
  freshCount: number;
  /** Files the daemon writes into /cyberdata. */
  dataFiles: string[];
}

const DAEMONS: Daemon[] = [
  {
    spec: "fullnode/litecoind",
    versionOutput: /^Litecoin Core version v0\.21\.2\.1\b/,
    versionLabel: /^litecoind 0\.21\.2\.1-/,
    // The spec's container args add -rpcbind=0.0.0.0 -rpcallowip=0.0.0.0/0 -rpcport=9332. No outgoing connections.
    // The spec's args pin -rpcport=9332 and the cookie file; this test uses a password instead.
    args: ["-regtest", "-rpcuser=u", "-rpcpassword=p", "-connect=0", "-dnsseed=0", "-listen=0", "-upnp=0"],
    rpcPort: 9332,
    blockCount: async (port) => {
      const r = await post(port, "/", { jsonrpc: "1.0", id: 1, method: "getblockcount", params: [] }, "u:p");
      const body = r.body as { result?: unknown };
      return r.status === 200 && typeof body.result === "number" ? body.result : undefined; // -28 "Loading…" while starting
    },
    freshCount: 0,
    dataFiles: ["regtest/blocks", "regtest/chainstate", "regtest/debug.log"],
  },
  {
    spec: "fullnode/monerod",
    versionOutput: /^Monero '.*' \(v0\.18\.0\.0-/,
    versionLabel: /^monerod 0\.18\.0\.0\+/,
    // The spec's container args add --rpc-bind-ip=0.0.0.0 --rpc-bind-port=18081 --confirm-external-bind --no-igd
    // (monerod refuses an option given twice). --offline: no peers, no DNS.
    // The spec pins --rpc-bind-port=18081 (its status and health commands ask that port).
    args: ["--regtest", "--offline", "--fixed-difficulty", "1"],
    rpcPort: 18081,
    blockCount: async (port) => {
      const r = await post(port, "/json_rpc", { jsonrpc: "2.0", id: "0", method: "get_block_count" });
      const body = r.body as { result?: { count?: unknown; status?: string } };
      return r.status === 200 && body.result?.status === "OK" && typeof body.result.count === "number" ? body.result.count : undefined;
    },
    freshCount: 1, // the genesis block
    dataFiles: ["fake/lmdb/data.mdb", "bitmonero.log"], // regtest keeps its chain under fake/
  },
];

const built = new Map<string, { loaded: LoadedSpec; result: BuildResult }>();
const containers: string[] = [];
const dataDirs: string[] = [];

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
});

test.after.always(async () => {
  if (SKIP_DOCKER) return;
  for (const c of containers) await dockerMaybe(["rm", "-f", "-v", c]);
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

function get(spec: string) {
  const b = built.get(spec);
  if (!b) throw new Error(`${spec} was not built (see the build test above)`);
  return b;
}

for (const d of DAEMONS) {
  dockerTest(`${d.spec}: builds from the Debian package with its shared libraries bundled`, async (t) => {
    const loaded = loadSpec(IMAGES, d.spec);
    const result = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
    built.set(d.spec, { loaded, result });
    const m = result.manifest;
    const libBytes = m.files.filter((f) => f.path.startsWith("libs/")).reduce((n, f) => n + f.size, 0);
    const appBytes = m.files.filter((f) => !f.path.startsWith("libs/")).reduce((n, f) => n + f.size, 0);
    const size = Number(await docker(["image", "inspect", "--format", "{{.Size}}", result.imageId]));
    t.log(`${result.version}: ${result.stepsRun} of ${result.stepsTotal} steps run, ${result.seconds.toFixed(1)} s`);
    t.log(
      `artifacts ${m.artifacts.join(", ")}: ${appBytes} bytes; ${m.libs.length} bundled libraries: ${libBytes} bytes; run image ${size} bytes`,
    );
    t.regex(result.version, d.versionLabel);
    t.true(m.libs.includes("/lib64/ld-linux-x86-64.so.2"), m.libs.join(" "));
    t.true(m.libs.some((p) => p.endsWith("/libc.so.6")));
    t.true(m.libs.some((p) => p.endsWith("/libstdc++.so.6")));
    t.deepEqual(await temporariesOf(process.pid), []);
  });

  dockerTest(`${d.spec}: the scratch run image holds only the binaries and their libraries, and runs as uid 1000`, async (t) => {
    const { result } = get(d.spec);
    t.is(await docker(["image", "inspect", "--format", "{{.Config.User}}", result.imageId]), "1000:1000");
    const files = (await listImageFiles(result.imageId))
      .filter((f) => f.type === "File")
      .map((f) => `/${f.path}`)
      .sort();
    const expected = [...result.manifest.artifacts.map((a) => `/cyberapp/${a}`), ...result.manifest.libs].sort();
    t.deepEqual(files, expected);
    const out = await docker(["run", "--rm", "--network", "none", result.imageId, "--version"]);
    t.regex(out.split("\n")[0], d.versionOutput);
  });

  dockerTest(`${d.spec}: answers RPC on a local chain and writes to the bind-mounted /cyberdata as uid 1000`, async (t) => {
    const { loaded, result } = get(d.spec);
    const data = mkdtempSync(join(tmpdir(), "cybernode-e2e-data-"));
    dataDirs.push(data);
    chownSync(data, 1000, 1000);
    const name = `cybernode-e2e-${loaded.spec.container.name}-${RUN_ID}`;
    containers.push(name);
    await docker([
      "run",
      "-d",
      "--name",
      name,
      "-v",
      `${data}:/cyberdata`,
      "-p",
      `127.0.0.1::${d.rpcPort}`,
      result.imageId,
      ...loaded.spec.container.args,
      ...d.args,
    ]);
    const port = Number((await docker(["port", name, `${d.rpcPort}/tcp`])).split("\n")[0].split(":").pop());
    let count: number | undefined;
    for (let i = 0; i < 240 && count === undefined; i++) {
      count = await d.blockCount(port).catch(() => undefined);
      if (count === undefined) {
        if ((await docker(["inspect", "--format", "{{.State.Running}}", name])) !== "true") break;
        await sleep(250);
      }
    }
    t.is(count, d.freshCount, count === undefined ? await docker(["logs", "--tail", "30", name]).catch(String) : undefined);
    t.is(await processUid(name), 1000);
    for (const f of d.dataFiles) t.true(existsSync(join(data, f)), `${f} in ${walk(data).join(" ")}`);
    for (const f of walk(data)) t.is(lstatSync(f).uid, 1000, f);
    if (d.spec === "fullnode/litecoind") {
      const r = await post(port, "/", { jsonrpc: "1.0", id: 1, method: "getblockcount", params: [] });
      t.is(r.status, 401, "RPC without credentials is refused");
    }
    await docker(["rm", "-f", "-v", name]);
  });
}
