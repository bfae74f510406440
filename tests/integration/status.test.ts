import test from "ava";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import type { NodeStatus } from "../../src/cli/statusReport";
import { docker } from "../../src/docker/cli";
import { runCli } from "../helpers/cli";
import { fixtureSpec, requireDocker, SKIP_DOCKER, testBaseMap } from "../helpers/docker";
import { dockerTest } from "../helpers/dockerTest";

// `cybernode status` against a fixture node started by hand (as `pulumi up` would have), reading only
// a stack file in a temporary folder and the Docker engine. The CLI runs with cwd = the repo root, so
// the stack's imagesDirs (relative to the project) finds tests/fixtures/images.
const dir = mkdtempSync(join(tmpdir(), "cybernode-status-"));
const stacks = join(dir, "stacks");
const dataRoot = join(dir, "data");
const A = `cnst-${process.pid}-a`;
const B = `cnst-${process.pid}-b`;
let imageId = "";

function stackFile(stack: string, host: string, nodes: string[]): void {
  // No published ports: the test must not collide with a fixnode of another test or of the local stack.
  const entries = nodes.map((n) => `    ${n}:\n      image: fullnode/fixnode\n      ports: []\n`).join("");
  writeFileSync(
    join(stacks, `Pulumi.${stack}.yaml`),
    `config:\n  cybernode:host: ${host}\n  cybernode:uid: "1000"\n  cybernode:dataRoot: ${dataRoot}\n` +
      `  cybernode:imagesDirs: ["tests/fixtures/images"]\n  cybernode:nodes:\n${entries}`,
  );
}

const status = (stack: string, ...more: string[]) => runCli(["status", "--stack", stack, "--stacks-dir", stacks, ...more]);

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
  imageId = (await buildImage(fixtureSpec("fullnode/fixnode"), { baseMap: testBaseMap(), log: () => {} })).imageId;
  mkdirSync(stacks, { recursive: true });
  mkdirSync(join(dataRoot, A), { recursive: true });
  chmodSync(join(dataRoot, A), 0o777); // uid 1000 writes it whoever runs the tests
  stackFile("t", "unix:///var/run/docker.sock", [A]);
  stackFile("t2", "unix:///var/run/docker.sock", [A, B]);
  stackFile("gone", "unix:///nonexistent.sock", [A]);
  await docker(["run", "-d", "--name", A, "-v", `${join(dataRoot, A)}:/cyberdata`, "-u", "1000:1000", imageId]);
  await waitFor(
    `${A} to be healthy`,
    async () => (await docker(["inspect", "--format", "{{.State.Health.Status}}", A])) === "healthy",
    60_000,
  );
});

test.after.always(async () => {
  if (!SKIP_DOCKER) await docker(["rm", "-f", "-v", A, B]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

dockerTest("a running fixture node: state, health, version, image ID, data size and height; exit 0", async (t) => {
  const r = await status("t");
  t.is(r.code, 0, r.stdout + r.stderr);
  const short = imageId.replace("sha256:", "").slice(0, 12);
  t.regex(r.stdout, new RegExp(`^stack t on unix:///var/run/docker.sock \\(Docker [^)]+\\), data in ${dataRoot}$`, "m"));
  t.regex(
    r.stdout,
    new RegExp(`^${A}  running  healthy  restarts 0  up \\d+[sm]\\S*  1\\.0\\.0  ${short}  data [\\d.]+ (B|kB)  height \\d+$`, "m"),
  );
  t.notRegex(r.stdout, /problem/);

  const j = await status("t", "--json");
  t.is(j.code, 0, j.stderr);
  const [row] = JSON.parse(j.stdout) as NodeStatus[];
  t.like(row, { node: A, image: "fullnode/fixnode", state: "running", health: "healthy", restarts: 0, version: "1.0.0", imageId });
  t.is(row.imageIdShort, short);
  t.true(typeof row.dataBytes === "number" && row.dataBytes > 0, String(row.dataBytes));
  t.true(typeof row.uptimeSeconds === "number" && row.uptimeSeconds >= 0);
  // The height comes from the spec's status command: /cyberapp/fixnode --call getblockcount.
  t.is(row.heightError, null);
  t.true(Number.isInteger(row.height), String(row.height));
  t.is(row.problem, null);
});

dockerTest("a node of the stack without a container: 'no container', exit 1, the others still shown", async (t) => {
  const r = await status("t2");
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, new RegExp(`^${A} +running +healthy`, "m"));
  t.regex(r.stdout, new RegExp(`^${B} +missing +-`, "m"));
  t.regex(r.stdout, new RegExp(`^  ${B}: no container ${B}: create it with: npx pulumi up --stack t2$`, "m"));
  const rows = JSON.parse((await status("t2", "--json")).stdout) as NodeStatus[];
  t.deepEqual(
    rows.map((x) => [x.node, x.state, x.dataNote, x.problem === null]),
    [
      [A, "running", null, true],
      [B, "missing", "missing", false],
    ],
  );
});

dockerTest("a stopped node: exit 1 and its line says not running", async (t) => {
  await docker(["stop", "-t", "20", A]);
  const r = await status("t");
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, new RegExp(`^${A}  exited  -  restarts 0  up -  1\\.0\\.0`, "m"));
  t.regex(
    r.stdout,
    new RegExp(`^  ${A}: not running \\(exited, .*\\): see why with docker logs --tail 50 ${A}, then docker start ${A}$`, "m"),
  );
  const [row] = JSON.parse((await status("t", "--json")).stdout) as NodeStatus[];
  t.like(row, { state: "exited", height: null, heightError: null });
  t.regex(row.problem ?? "", /^not running/);
});

dockerTest("an unreachable host: one line naming the host and why, exit 1", async (t) => {
  const r = await status("gone");
  t.is(r.code, 1, r.stdout + r.stderr);
  t.is(r.stdout, "");
  t.regex(r.stderr, /^cybernode status: cannot reach Docker on unix:\/\/\/nonexistent\.sock \(stack gone\): .*nonexistent\.sock/m);
});

dockerTest("a stack that does not exist: the stack files there are listed", async (t) => {
  const r = await status("nope");
  t.is(r.code, 1);
  t.regex(r.stderr, /no stack file .*Pulumi\.nope\.yaml; stacks in .*: gone, t, t2 \(choose one with --stack NAME\)/);
});
