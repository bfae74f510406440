import test from "ava";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/imageSpec/errors";
import { validateSpec } from "../../src/imageSpec/validate";
import { loadSpec } from "../../src/imageSpec/load";
import { goodSpec, withChange } from "../helpers/specs";

test("a valid spec gets its defaults", (t) => {
  const s = validateSpec("fullnode/node", goodSpec());
  t.is(s.run.uid, 1000);
  t.is(s.run.base, "scratch");
  t.deepEqual(s.run.env, [["HOME", "/cyberdata"]]);
  t.deepEqual(s.run.ports, [
    { port: 8333, protocol: "tcp" },
    { port: 8334, protocol: "tcp" },
  ]);
  t.is(s.container.restart, "always");
  t.deepEqual(s.container.ports[1], { port: 8334, hostPort: 8334, bind: "127.0.0.1", protocol: "tcp" });
  t.deepEqual(s.build.artifacts, [{ path: "/out/node", name: "node" }]);
});

test("a spec's own HOME is kept", (t) => {
  const s = validateSpec(
    "fullnode/node",
    withChange((x) => (x.run.env = { HOME: "/cyberdata/home", A: "1" })),
  );
  t.deepEqual(s.run.env, [
    ["A", "1"],
    ["HOME", "/cyberdata/home"],
  ]);
});

// Each bad input must be rejected with an error that names the image and the field.
const BAD: [string, unknown, string][] = [
  ["missing build steps", withChange((s) => (s.build.steps = [])), "build.steps"],
  ["build steps absent", withChange((s) => delete (s.build as Partial<typeof s.build>).steps), "build.steps"],
  ["empty step", withChange((s) => (s.build.steps = ["  "])), "build.steps"],
  ["missing artifacts", withChange((s) => (s.build.artifacts = [])), "build.artifacts"],
  ["artifact path not absolute", withChange((s) => (s.build.artifacts = ["out/node"])), "build.artifacts[0]"],
  ["artifact path with ..", withChange((s) => (s.build.artifacts = ["/out/../etc/passwd"])), "build.artifacts[0]"],
  ["duplicate artifact names", withChange((s) => (s.build.artifacts = ["/out/node", "/other/node"])), "build.artifacts[1]"],
  ["reserved artifact name", withChange((s) => (s.build.artifacts = ["/out/MANIFEST.json"])), "build.artifacts[0]"],
  ["uid negative", withChange((s) => (s.run.uid = -1)), "run.uid"],
  ["uid fractional", withChange((s) => (s.run.uid = 1.5)), "run.uid"],
  ["uid a string", withChange((s) => ((s.run as unknown as Record<string, unknown>).uid = "1000")), "run.uid"],
  ["uid root", withChange((s) => (s.run.uid = 0)), "run.uid"],
  ["port 0", withChange((s) => (s.run.ports = [0])), "run.ports[0]"],
  ["port 70000", withChange((s) => (s.run.ports = [70000])), "run.ports[0]"],
  ["port duplicated", withChange((s) => (s.run.ports = [8333, "8333/tcp"])), "run.ports[1]"],
  ["port malformed", withChange((s) => (s.run.ports = ["83x3"])), "run.ports[0]"],
  ["container port the image does not expose", withChange((s) => (s.container.ports = [{ port: 8335 }])), "container.ports[0]"],
  [
    "container port with the other protocol",
    withChange((s) => (s.container.ports = [{ port: 8333, protocol: "udp" }])),
    "container.ports[0]",
  ],
  ["entrypoint empty", withChange((s) => (s.run.entrypoint = [])), "run.entrypoint"],
  ["entrypoint blank", withChange((s) => (s.run.entrypoint = [""])), "run.entrypoint"],
  ["run env key invalid", withChange((s) => (s.run.env = { "BAD=KEY": "x" })), "run.env.BAD=KEY"],
  ["build env key starts with digit", withChange((s) => (s.build.env = { "1X": "x" })), "build.env.1X"],
  ["build env value not string", withChange((s) => ((s.build.env as unknown as Record<string, unknown>) = { A: 1 })), "build.env.A"],
  ["passEnv name invalid", withChange((s) => (s.build.passEnv = ["GO PROXY"])), "build.passEnv"],
  ["base image empty", withChange((s) => (s.build.from = "")), "build.from"],
  ["base image scratch", withChange((s) => (s.build.from = "scratch")), "build.from"],
  ["base image with spaces", withChange((s) => (s.build.from = "golang 1.26")), "build.from"],
  ["base image in capitals", withChange((s) => (s.build.from = "Golang:1.26")), "build.from"],
  ["base image with an empty tag", withChange((s) => (s.build.from = "golang:")), "build.from"],
  ["base image with a bad digest", withChange((s) => (s.build.from = "golang@sha256:xyz")), "build.from"],
  ["run base that cannot be parsed", withChange((s) => (s.run.base = "debian:bookworm slim")), "run.base"],
  ["cache name invalid", withChange((s) => (s.build.caches = { "/root/.cache": "Go Cache" })), "build.caches"],
  ["cache path relative", withChange((s) => (s.build.caches = { "root/.cache": "go" })), "build.caches"],
  ["version missing", withChange((s) => delete (s.build as Partial<typeof s.build>).version), "build.version"],
  [
    "version both file and command",
    withChange((s) => ((s.build.version as Record<string, string>) = { file: "/v", command: "x" })),
    "build.version",
  ],
  ["version file relative", withChange((s) => (s.build.version = { file: "VERSION" })), "build.version.file"],
  // Operating a node (issue 11): stop, health, status, secret files. Each refused before Docker is touched.
  ["stopGrace negative", withChange((s) => (s.container.stopGrace = -5)), "container.stopGrace"],
  ["stopGrace absurd (milliseconds?)", withChange((s) => (s.container.stopGrace = 300000)), "container.stopGrace"],
  ["stopGrace fractional", withChange((s) => (s.container.stopGrace = 2.5)), "container.stopGrace"],
  ["stopSignal unknown", withChange((s) => (s.container.stopSignal = "SIGSTOPNOW")), "container.stopSignal"],
  ["stopSignal SIGKILL (cannot be handled)", withChange((s) => (s.container.stopSignal = "SIGKILL")), "container.stopSignal"],
  ["stopSignal a number", withChange((s) => ((s.container as unknown as Record<string, unknown>).stopSignal = 15)), "container.stopSignal"],
  ["health command relative", withChange((s) => (s.run.health = { command: ["btcctl", "getblockcount"] })), "run.health.command"],
  [
    "health command a shell string",
    withChange((s) => ((s.run as unknown as Record<string, unknown>).health = { command: "btcctl getblockcount" })),
    "run.health.command",
  ],
  ["health command with ..", withChange((s) => (s.run.health = { command: ["/cyberapp/../bin/sh"] })), "run.health.command"],
  [
    "health command missing",
    withChange((s) => ((s.run as unknown as Record<string, unknown>).health = { interval: 30 })),
    "run.health.command",
  ],
  ["health interval zero", withChange((s) => (s.run.health = { command: ["/cyberapp/node"], interval: 0 })), "run.health.interval"],
  [
    "health timeout longer than interval",
    withChange((s) => (s.run.health = { command: ["/cyberapp/node"], interval: 5, timeout: 30 })),
    "run.health.timeout",
  ],
  ["health retries negative", withChange((s) => (s.run.health = { command: ["/cyberapp/node"], retries: -1 })), "run.health.retries"],
  [
    "health unknown field",
    withChange((s) => ((s.run as unknown as Record<string, unknown>).health = { command: ["/cyberapp/node"], every: 5 })),
    "run.health.every",
  ],
  [
    "status for a node without that RPC port",
    withChange((s) => (s.container.status = { rpcPort: 9999, height: ["/cyberapp/node", "height"] })),
    "container.status.rpcPort",
  ],
  [
    "status for a spec exposing no ports",
    withChange((s) => {
      s.run.ports = [];
      s.container.ports = [];
      s.container.status = { rpcPort: 8334, height: ["/cyberapp/node"] };
    }),
    "container.status.rpcPort",
  ],
  [
    "status command relative",
    withChange((s) => (s.container.status = { rpcPort: 8334, height: ["node", "height"] })),
    "container.status.height",
  ],
  [
    "secret file name with a slash",
    withChange((s) => (s.container.secretFiles = { "../rpc.conf": "x" })),
    "container.secretFiles.../rpc.conf",
  ],
  [
    "secret file with an unknown placeholder",
    withChange((s) => (s.container.secretFiles = { "rpc.conf": "pass=${secret}" })),
    "container.secretFiles.rpc.conf",
  ],
  [
    "unknown container field (typo)",
    withChange((s) => ((s.container as unknown as Record<string, unknown>).stopgrace = 60)),
    "container.stopgrace",
  ],
  ["unknown run field (typo)", withChange((s) => ((s.run as unknown as Record<string, unknown>).healthcheck = {})), "run.healthcheck"],
  ["container name with space", withChange((s) => (s.container.name = "my node")), "container.name"],
  ["container name unicode", withChange((s) => (s.container.name = "nöde")), "container.name"],
  [
    "restart policy unknown",
    withChange((s) => ((s.container as unknown as Record<string, unknown>).restart = "sometimes")),
    "container.restart",
  ],
  [
    "restart on-failure:0",
    withChange((s) => ((s.container as unknown as Record<string, unknown>).restart = "on-failure:0")),
    "container.restart",
  ],
  [
    "container host port duplicated",
    withChange((s) => (s.container.ports = [{ port: 1 }, { port: 2, hostPort: 1 }])),
    "container.ports[1]",
  ],
  ["container bind not an address", withChange((s) => (s.container.ports = [{ port: 1, bind: "localhost" }])), "container.ports[0].bind"],
  ["label reserved", withChange((s) => (s.run.labels = { version: "1" })), "run.labels['version']"],
  ["unknown top-level field", withChange((s) => (s.runn = {})), "runn"],
  ["build missing", withChange((s) => delete (s as Partial<typeof s>).build), "build"],
  ["bundleLibs not boolean", withChange((s) => ((s.run as unknown as Record<string, unknown>).bundleLibs = "yes")), "run.bundleLibs"],
];

for (const [what, spec, field] of BAD) {
  test(`rejects: ${what}`, (t) => {
    const err = t.throws(() => validateSpec("fullnode/node", spec), { instanceOf: InputError });
    t.true(err!.message.startsWith("image fullnode/node:"), err!.message);
    t.true(err!.message.includes(field), `expected field ${field} in: ${err!.message}`);
  });
}

test("rejects an image name that is not group/name", (t) => {
  const err = t.throws(() => validateSpec("Btcd", goodSpec()), { instanceOf: InputError });
  t.regex(err!.message, /<group>\/<name>/);
});

test("every problem of a spec is reported at once", (t) => {
  const err = t.throws(
    () =>
      validateSpec(
        "fullnode/node",
        withChange((s) => {
          s.run.uid = -5;
          s.run.entrypoint = [];
          s.build.artifacts = ["x"];
        }),
      ),
    { instanceOf: InputError },
  );
  t.is((err as InputError).problems.length, 3);
});

test("unknown image name names the known ones", (t) => {
  const err = t.throws(() => loadSpec(join(__dirname, "../fixtures/images"), "fullnode/nope"), { instanceOf: InputError });
  t.regex(err!.message, /unknown image/);
  t.regex(err!.message, /fullnode\/fixnode/);
});

test("a spec file that cannot be loaded, or has no default export, is named with what to do (no stack trace)", (t) => {
  const root = mkdtempSync(join(tmpdir(), "cybernode-badspecs-"));
  mkdirSync(join(root, "fullnode"));
  const good = readFileSync(join(__dirname, "../fixtures/images/fullnode/fixnode.ts"), "utf8").replace(
    "../../../../src/imageSpec/define",
    join(__dirname, "../../src/imageSpec/define"),
  );
  const write = (name: string, text: string) => writeFileSync(join(root, "fullnode", `${name}.ts`), text);
  write("badimport", good.replace(join(__dirname, "../../src/imageSpec/define"), "../src/imageSpec/define"));
  write("named", good.replace("export default defineImage", "export const spec = defineImage"));
  write("syntax", good.replace("description:", "description: ,"));
  const problem = (name: string) => {
    const err = t.throws(() => loadSpec(root, `fullnode/${name}`), { instanceOf: InputError });
    t.true(err!.message.startsWith(`image fullnode/${name}: ${join(root, "fullnode", name)}.ts `), err!.message);
    t.notRegex(err!.message, /Require stack|\n\s+at /, "no stack");
    return err!.message;
  };
  t.regex(
    problem("badimport"),
    /Cannot find module '\.\.\/src\/imageSpec\/define'\. Imports are relative to the spec file: images\/<group>\/<name>\.ts imports defineImage from '\.\.\/\.\.\/src\/imageSpec\/define'/,
  );
  t.regex(problem("named"), /has no default export \(it exports spec\): write the spec as `export default defineImage/);
  t.regex(problem("syntax"), /syntax\.ts:\d+:\d+: ERROR: Unexpected ","/);
  write("good", good);
  t.is(loadSpec(root, "fullnode/good").spec.container.name, "fixnode", "the same text with its default export loads");
  rmSync(root, { recursive: true, force: true });
});

test("the fixture spec loads", (t) => {
  const l = loadSpec(join(__dirname, "../fixtures/images"), "fullnode/fixnode");
  t.is(l.spec.container.name, "fixnode");
  t.true(l.dir.endsWith("fixtures/images/fullnode/fixnode"));
});

test("operating defaults: SIGTERM with 60 s grace, no health check (image IDs of such specs unchanged), no status", (t) => {
  const s = validateSpec("fullnode/node", goodSpec());
  t.is(s.container.stopSignal, "SIGTERM");
  t.is(s.container.stopGrace, 60);
  t.false("health" in s.run, "absent, not null: hashes of specs without a check are what they were");
  t.is(s.container.status, null);
  t.deepEqual(s.container.secretFiles, []);
  const h = validateSpec(
    "fullnode/node",
    withChange((x) => (x.run.health = { command: ["/cyberapp/node", "--ping"], interval: 20 })),
  );
  t.deepEqual(h.run.health, { command: ["/cyberapp/node", "--ping"], interval: 20, timeout: 10, retries: 3, startPeriod: 60 });
  t.is(
    validateSpec(
      "fullnode/node",
      withChange((x) => (x.container.stopSignal = "int")),
    ).container.stopSignal,
    "SIGINT",
  );
});

test("every catalogue image declares a graceful stop of at least 5 minutes, a health check and a status command", (t) => {
  for (const name of ["fullnode/beacon", "fullnode/btcd", "fullnode/geth", "fullnode/litecoind", "fullnode/monerod"]) {
    const { spec } = loadSpec(join(__dirname, "../../images"), name);
    t.true(spec.container.stopGrace >= 300, name);
    t.truthy(spec.run.health, name);
    t.deepEqual(spec.run.health?.command, spec.container.status?.height, `${name}: health and status ask the same`);
  }
});
