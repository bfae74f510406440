import test from "ava";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "../../src/cli/args";
import { loadStackPlan, statusOptions } from "../../src/cli/status";
import {
  type ContainerInspect,
  containersByName,
  duScript,
  formatDuration,
  formatReport,
  formatSize,
  heightResult,
  nodeStatus,
  type NodeStatus,
  parseDu,
  parseHeight,
  statusExitCode,
  unreachableReason,
} from "../../src/cli/statusReport";
import { stackFileConfig, withUnsetSecrets } from "../../src/cli/statusStackFile";
import { editDistance, misspelledNamespaces, projectKey } from "../../src/stack/configKeys";
import type { NodePlan } from "../../src/stack/config";
import { InputError } from "../../src/imageSpec/errors";

const PROJECT = join(__dirname, "../..");

// Captured with `docker inspect` from the fixture run image (Docker 20.10.24), trimmed to the fields
// status reads plus a few neighbours: running and healthy; the same container after `docker stop`
// (Docker leaves Health "unhealthy" on a stopped container); one that crashed three times under
// --restart on-failure:3 --no-healthcheck; one whose health check fails while it runs.
const IMAGE = "sha256:db160eeeefe90ad39917815aed9f4f369caec9a470c716eb16409bd2d8c65bde";
const LABELS = {
  "org.cybernode.chain": "fixture",
  "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
  "org.opencontainers.image.revision": "v1.0.0",
  "org.opencontainers.image.title": "fullnode/fixnode",
  "org.opencontainers.image.version": "1.0.0",
  version: "1.0.0",
};
const HEALTHCHECK = {
  Test: ["CMD", "/cyberapp/fixnode", "--call", "getblockcount"],
  Interval: 5000000000,
  Timeout: 3000000000,
  StartPeriod: 5000000000,
  Retries: 3,
};
const OK_LOG = { Start: "2026-11-28T23:57:26.719824777Z", End: "2026-11-28T23:57:26.806185314Z", ExitCode: 0, Output: "0\n" };
const RUNNING = {
  Id: "5b51b9e160b388b42f5f5d578406a8fbb986611ee27be9bb7ec1bb2c9e070f95",
  Created: "2026-11-28T23:57:10.404465491Z",
  Name: "/cn-status-cap",
  RestartCount: 0,
  Image: IMAGE,
  State: {
    Status: "running",
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 16479,
    ExitCode: 0,
    Error: "",
    StartedAt: "2026-11-28T23:57:11.468682148Z",
    FinishedAt: "0001-01-01T00:00:00Z",
    Health: { Status: "healthy", FailingStreak: 0, Log: [OK_LOG] },
  },
  Config: { Hostname: "5b51b9e160b3", User: "1000:1000", Labels: LABELS, Healthcheck: HEALTHCHECK },
};
const STOPPED = {
  ...RUNNING,
  State: {
    ...RUNNING.State,
    Status: "exited",
    Running: false,
    Pid: 0,
    FinishedAt: "2026-11-28T23:57:28.496268093Z",
    Health: { Status: "unhealthy", FailingStreak: 0, Log: [OK_LOG] },
  },
};
const CRASHED = {
  Id: "26fe8c6e10d4cfd6ff314de312fc97ad7dbba3996507ea525c38561725192be7",
  Created: "2026-11-28T23:57:28.751248705Z",
  Name: "/cn-status-cap2",
  RestartCount: 3,
  Image: IMAGE,
  State: {
    Status: "exited",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 1,
    Error: "",
    StartedAt: "2026-11-28T23:57:31.158185931Z",
    FinishedAt: "2026-11-28T23:57:31.164167377Z",
  },
  Config: { Hostname: "26fe8c6e10d4", User: "1000:1000", Labels: LABELS, Healthcheck: { ...HEALTHCHECK, Test: ["NONE"] } },
};
const UNHEALTHY = {
  ...RUNNING,
  Name: "/cn-status-cap3",
  State: {
    ...RUNNING.State,
    StartedAt: "2026-11-28T23:57:49.664668012Z",
    Health: {
      Status: "unhealthy",
      FailingStreak: 5,
      Log: [
        {
          Start: "2026-11-28T23:57:55.639012348Z",
          End: "2026-11-28T23:57:55.979336841Z",
          ExitCode: -1,
          Output:
            'OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown',
        },
      ],
    },
  },
};
/** What `docker inspect cn-status-cap cn-status-cap2 nope` prints (exit 1, "Error: No such object: nope" on stderr). */
const INSPECT_OUT = JSON.stringify([RUNNING, CRASHED], null, 4);

const T0 = Date.parse("2026-11-29T03:09:11.468Z"); // RUNNING started 3h12m before

function plan(name: string, status: string[] | null = ["/cyberapp/fixnode", "--call", "getblockcount"]): NodePlan {
  return { name, image: "fullnode/fixnode", operation: { status } } as unknown as NodePlan;
}
const row = (name: string, container: ContainerInspect | undefined, extra: Partial<Parameters<typeof nodeStatus>[0]> = {}) =>
  nodeStatus({
    node: plan(name),
    container,
    dataPath: `/home/cyber/cyberdata/${name}`,
    data: { bytes: 1_234_567_890 },
    height: null,
    stack: "local",
    host: "unix:///var/run/docker.sock",
    now: T0,
    ...extra,
  });

test("stack files become the raw config Pulumi gives the program; secure values are marked and never read", (t) => {
  const { raw, secretKeys } = stackFileConfig(readFileSync(join(PROJECT, "stacks/Pulumi.node1.yaml"), "utf8"), "stacks/Pulumi.node1.yaml");
  t.is(raw.host, "ssh://cyber@node1");
  t.is(raw.uid, "1000");
  t.is(typeof raw.nodes, "string");
  t.deepEqual(Object.keys(JSON.parse(raw.nodes as string)), ["btcd"]);
  t.is(secretKeys.size, 0);

  const yaml = `config:
  aws:region: us-east-1
  cybernode:uid: 1000
  cybernode:selinux: true
  cybernode:btcdRpcPass:
    secure: v1:AAAABBBB
  cybernode:buildEnv:
    secure: v1:CCCC
  cybernode:baseImages:
    "golang:1.26-bookworm": { secure: v1:DDDD }
`;
  const s = stackFileConfig(yaml, "stacks/Pulumi.x.yaml");
  t.deepEqual(s.raw, {
    uid: "1000",
    selinux: "true",
    btcdRpcPass: "(secret)",
    buildEnv: "{}",
    baseImages: '{"golang:1.26-bookworm":"(secret)"}',
  });
  t.deepEqual([...s.secretKeys].sort(), ["baseImages", "btcdRpcPass", "buildEnv"]);
  t.false(JSON.stringify(s.raw).includes("v1:"));
  t.deepEqual(stackFileConfig("", "f").raw, {});
  const unset: Record<string, unknown> = {
    nodes: '{"btcd":{"args":["--rpcpass=${secret:rpcPass}","--x=${secret:set}"]}}',
    set: "(secret)",
  };
  const keys = new Set(["set"]);
  withUnsetSecrets(unset, keys, [unset.nodes as string, "--jwt=${secret:jwt}"]);
  t.deepEqual(unset, { nodes: unset.nodes, set: "(secret)", rpcPass: "(secret)", jwt: "(secret)" });
  t.deepEqual([...keys], ["set", "rpcPass", "jwt"]);

  const bad = t.throws(() => stackFileConfig("config: [unclosed", "stacks/Pulumi.bad.yaml"), { instanceOf: InputError });
  t.regex(bad.message, /stack file stacks\/Pulumi\.bad\.yaml: is not valid YAML/);
  t.throws(() => stackFileConfig("- a list", "f"), { message: /must be a YAML map with a config: section/ });
});

test("stack-file keys as Pulumi reads them: no namespace is the project's, a provider's namespace is not ours, a misspelled one is refused", (t) => {
  const s = stackFileConfig(
    "config:\n  nodes: { btcd: { image: fullnode/btcd } }\n  cybernode:host: ssh://cyber@node9\n  docker:host: unix:///other.sock\n",
    "stacks/Pulumi.node9.yaml",
  );
  t.deepEqual(s.raw, { nodes: '{"btcd":{"image":"fullnode/btcd"}}', host: "ssh://cyber@node9" });
  for (const typo of ["cybrnode:host", "Cybernode:host", "cybernodes:host"]) {
    const err = t.throws(() => stackFileConfig(`config:\n  ${typo}: ssh://cyber@node9\n`, "stacks/Pulumi.node9.yaml"), {
      instanceOf: InputError,
    });
    t.true(
      err!.message.startsWith(`stack file stacks/Pulumi.node9.yaml: ${typo}: '${typo.split(":")[0]}' is not this project's namespace`),
      err!.message,
    );
    t.regex(err!.message, /write cybernode:host$/);
  }
  t.deepEqual(misspelledNamespaces(["docker:host", "kubernetes:context", "aws:region", "pulumi:tags", "cybernode:uid", "uid"]), []);
  // Within two edits (a swap of neighbours counts as one) is a typo; three and more is another namespace.
  for (const typo of [
    "cyebrnode:host",
    "cybrnod:host",
    "CYBERNOD:host",
    "cybernde:uid",
    "xcybernodex:uid",
    "ycbrenode:host",
    "cybrenodx:uid",
  ])
    t.is(misspelledNamespaces([typo]).length, 1, `${typo} is refused`);
  for (const other of ["cyber:host", "cybnod:host", "node:host"])
    t.deepEqual(misspelledNamespaces([other]), [], `${other} is another namespace`);
  t.deepEqual(
    [
      editDistance("cybernode", "cybrenode"),
      editDistance("cybernode", "ycbrenode"),
      editDistance("cybernode", "cybnod"),
      editDistance("", "ab"),
    ],
    [1, 2, 3, 2],
  );
  t.is(projectKey("cybernode:uid"), "uid");
  t.is(projectKey("uid"), "uid");
  t.is(projectKey("docker:host"), null);
});

test("loadStackPlan validates a real stack file as pulumi up would; a missing one lists the stacks", (t) => {
  const p = loadStackPlan(PROJECT, statusOptions(parseArgs(["--stack", "node1"]), PROJECT));
  t.is(p.host, "ssh://cyber@node1");
  t.is(p.dataRoot, "/home/cyber/cyberdata");
  // Its args use ${secret:btcdExplorerPass}, not set in this checkout: status never needs the value.
  t.true(p.nodes[0].secrets.length > 0);
  t.deepEqual(
    p.nodes.map((n) => n.name),
    ["btcd"],
  );
  const local = loadStackPlan(PROJECT, statusOptions(parseArgs([]), PROJECT));
  t.is(local.stack, "local");
  const e = t.throws(() => loadStackPlan(PROJECT, statusOptions(parseArgs(["--stack", "nope"]), PROJECT)), { instanceOf: InputError });
  // Every stack file of stacks/, in order.
  const stacks = readdirSync(join(__dirname, "../../stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter(Boolean)
    .sort();
  t.true(e.message.includes(`no stack file stacks/Pulumi.nope.yaml; stacks in `), e.message);
  t.true(e.message.includes(`: ${stacks.join(", ")} (choose one with --stack NAME)`), e.message);
  const empty = mkdtempSync(join(tmpdir(), "cn-status-"));
  t.throws(() => loadStackPlan(PROJECT, { stack: "x", stacksDir: empty, json: false }), { message: /no stack files in .*--stacks-dir/ });
});

test("options: --stack and --stacks-dir take values in any order, with --json anywhere", (t) => {
  const o = statusOptions(parseArgs(["--json", "--stacks-dir", "/tmp/s", "--stack", "t"]), "/work");
  t.deepEqual(o, { stack: "t", stacksDir: "/tmp/s", json: true });
  t.deepEqual(statusOptions(parseArgs(["--stack", "prod"]), "/work"), { stack: "prod", stacksDir: "/work/stacks", json: false });
  t.throws(() => statusOptions(parseArgs(["--stack"]), "/w"), { message: "--stack needs a value" });
  t.throws(() => statusOptions(parseArgs(["local"]), "/w"), { message: /status takes no arguments/ });
  t.throws(() => statusOptions(parseArgs(["--all"]), "/w"), { message: "unknown option --all" });
});

test("docker inspect output: the found containers by exact name", (t) => {
  const found = containersByName(INSPECT_OUT, ["cn-status-cap", "cn-status-cap2", "nope"]);
  t.deepEqual([...found.keys()], ["cn-status-cap", "cn-status-cap2"]);
  t.is(containersByName("[]\n", ["nope"]).size, 0);
  // `docker inspect 5b51` would match by ID prefix: not the node's container.
  t.is(containersByName(INSPECT_OUT, ["5b51"]).size, 0);
});

test("a running, healthy container: every field from inspect", (t) => {
  const r = row("cn-status-cap", RUNNING, { height: { height: 812345 } });
  t.like(r, {
    state: "running",
    health: "healthy",
    restarts: 0,
    uptimeSeconds: 3 * 3600 + 12 * 60,
    version: "1.0.0",
    imageId: IMAGE,
    imageIdShort: "db160eeeefe9",
    dataBytes: 1_234_567_890,
    height: 812345,
    exitCode: null,
    problem: null,
  });
  t.is(r.startedAt, "2026-11-28T23:57:11.468Z");
  t.is(statusExitCode([r]), 0);
});

test("stopped, crashed, unhealthy, missing and a failed status command are problems that say what to do", (t) => {
  const stopped = row("cn-status-cap", STOPPED, { now: Date.parse("2026-11-28T23:59:28.496Z") });
  t.like(stopped, { state: "exited", health: null, uptimeSeconds: null, exitCode: 0 });
  t.is(stopped.problem, "not running (exited, 2m ago): see why with docker logs --tail 50 cn-status-cap, then docker start cn-status-cap");

  const crashed = row("cn-status-cap2", CRASHED, { host: "ssh://cyber@node1" });
  t.like(crashed, { restarts: 3, exitCode: 1, health: null });
  t.regex(
    crashed.problem ?? "",
    /^not running \(exited, exit code 1, 3h11m ago, 3 restarts\): see why with DOCKER_HOST=ssh:\/\/cyber@node1 docker logs/,
  );

  const sick = row("cn-status-cap3", UNHEALTHY);
  t.is(sick.health, "unhealthy");
  t.regex(sick.problem ?? "", /^unhealthy \(5 failed checks, last: OCI runtime exec failed: .*\): see docker inspect --format/);

  const missing = row("btcd", undefined, { data: { note: "missing" } });
  t.like(missing, { state: "missing", restarts: null, imageIdShort: null, dataBytes: null, dataNote: "missing" });
  t.is(missing.problem, "no container btcd: create it with: npx pulumi up --stack local");

  const noHeight = row("cn-status-cap", RUNNING, { height: { error: "connection refused" } });
  t.is(noHeight.heightError, "connection refused");
  t.is(noHeight.problem, "height command failed: connection refused: try docker exec cn-status-cap /cyberapp/fixnode --call getblockcount");

  for (const r of [stopped, crashed, sick, missing, noHeight]) t.is(statusExitCode([row("ok", RUNNING), r]), 1, r.node);
  // A health check still starting is not a problem yet.
  const starting = { ...RUNNING, State: { ...RUNNING.State, Health: { Status: "starting", FailingStreak: 0, Log: [] } } };
  t.is(row("s", starting).problem, null);
});

test("height: the last whole-number line; failures give a short reason", (t) => {
  t.is(parseHeight("812345\n"), 812345);
  t.is(parseHeight("2026-11-28 23:57:11.468 I Monero 'Fluorine Fermi' (v0.18.3.4-release)\n3274512\n"), 3274512);
  t.is(parseHeight("height: 12\n"), null);
  t.is(parseHeight(""), null);
  t.deepEqual(heightResult({ exitCode: 0, stdout: "0\n", stderr: "", timedOutAfter: null }), { height: 0 });
  t.deepEqual(heightResult({ exitCode: 1, stdout: "", stderr: "fixnode: nosuch: error -32601: Method not found\n", timedOutAfter: null }), {
    error: "fixnode: nosuch: error -32601: Method not found",
  });
  t.deepEqual(heightResult({ exitCode: 126, stdout: "", stderr: "", timedOutAfter: null }), { error: "exit code 126" });
  t.deepEqual(heightResult({ exitCode: null, stdout: "", stderr: "", timedOutAfter: 15 }), { error: "no answer within 15 s" });
  t.deepEqual(heightResult({ exitCode: 0, stdout: "syncing\n", stderr: "", timedOutAfter: null }), {
    error: "no block height in its output (last line: syncing)",
  });
});

test("uptime and size formatting", (t) => {
  t.is(formatDuration(45), "45s");
  t.is(formatDuration(125), "2m5s");
  t.is(formatDuration(120), "2m");
  t.is(formatDuration(3 * 3600 + 12 * 60 + 9), "3h12m");
  t.is(formatDuration(2 * 86400 + 4 * 3600 + 59), "2d4h");
  t.is(formatSize(999), "999 B");
  t.is(formatSize(4193), "4.2 kB");
  t.is(formatSize(1_234_567_890), "1.2 GB");
  t.is(formatSize(999_999), "1.0 MB");
  t.is(formatSize(2.5e12), "2.5 TB");
});

test("the du script measures every folder in one run and says which are missing", (t) => {
  const root = mkdtempSync(join(tmpdir(), "cn-status-du-"));
  mkdirSync(join(root, "btcd"));
  writeFileSync(join(root, "btcd", "blocks"), Buffer.alloc(10_000));
  mkdirSync(join(root, "it's"));
  const names = ["btcd", "it's", "gone"];
  const out = execFileSync("sh", ["-c", duScript(names.map((n) => [n, join(root, n)]))], { encoding: "utf8" });
  const sizes = parseDu(out, names);
  const btcd = sizes.get("btcd");
  t.true(btcd !== undefined && "bytes" in btcd && btcd.bytes >= 10_000, out);
  t.true(btcd !== undefined && "bytes" in btcd && btcd.bytes < 20_000, out);
  t.true("bytes" in (sizes.get("it's") ?? {}), out);
  t.deepEqual(sizes.get("gone"), { note: "missing" });
  t.deepEqual(parseDu("btcd\t4096\t1\n", ["btcd"]).get("btcd"), {
    bytes: 4096,
    partial:
      "du could not read all of it as this user (the nodes' files are their uid's): the size is at least this; run status as root for all of it",
  });
  t.deepEqual(
    parseDu("btcd\t\n", ["btcd", "x"]),
    new Map([
      ["btcd", { note: "du could not read it" }],
      ["x", { note: "not measured" }],
    ]),
  );
});

test("the text report: aligned lines, then the problems", (t) => {
  const rows: NodeStatus[] = [
    row("btcd", RUNNING, { height: { height: 812345 } }),
    row("fixnode", undefined, { data: { note: "missing" } }),
  ];
  const text = formatReport("stack local on unix:///var/run/docker.sock (Docker 20.10.24), data in /home/cyber/cyberdata", rows);
  t.is(
    text,
    [
      "stack local on unix:///var/run/docker.sock (Docker 20.10.24), data in /home/cyber/cyberdata",
      "btcd     running  healthy  restarts 0  up 3h12m  1.0.0  db160eeeefe9  data 1.2 GB   height 812345",
      "fixnode  missing  -        restarts -  up -      -      -             data missing  height -",
      "1 problem(s):",
      "  fixnode: no container fixnode: create it with: npx pulumi up --stack local",
      "",
    ].join("\n"),
  );
  const unmeasured = formatReport("h", [row("btcd", RUNNING, { data: { note: "du on ssh://x failed: timeout" } })]);
  t.regex(unmeasured, /data \?/);
  t.regex(unmeasured, /^note: btcd: data folder \/home\/cyber\/cyberdata\/btcd: du on ssh:\/\/x failed: timeout$/m);
});

test("an unreachable host: the reason, from under ssh's wrapping", (t) => {
  t.is(
    unreachableReason("Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?\n"),
    "Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?",
  );
  const ssh =
    'error during connect: Get "http://docker.example.com/v1.50/version": command [ssh -o ConnectTimeout=30 -T -l nobody -- nonexistent.invalid docker system dial-stdio] has exited with exit status 255, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=ssh: Could not resolve hostname nonexistent.invalid: Name or service not known\n\n';
  t.is(unreachableReason(ssh), "ssh: Could not resolve hostname nonexistent.invalid: Name or service not known");
});

test("a data size du could only partly read is shown as a floor, with a note saying why", (t) => {
  const text = formatReport("stack local", [
    row("btcd", RUNNING, { data: { bytes: 17_400, partial: "du could not read all of it as this user" } }),
  ]);
  t.regex(text, /data ≥17\.4 kB/);
  t.regex(text, /^note: btcd: data folder \/home\/cyber\/cyberdata\/btcd: du could not read all of it as this user$/m);
  t.notRegex(formatReport("stack local", [row("btcd", RUNNING)]), /≥|note:/, "a full measure has neither");
});
