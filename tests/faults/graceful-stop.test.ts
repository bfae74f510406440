import test from "ava";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/build/builder";
import { docker } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, SKIP_DOCKER, testBaseMap } from "../helpers/docker";
import { faultImage, faultName, poll, removeContainers } from "../helpers/faults";
import { runStackWithMocks } from "../helpers/pulumiMocks";

// Fault: a node's container is stopped (docker stop, a replacement by `pulumi up`, `pulumi destroy`)
// while its daemon needs seconds to flush. The fixture takes --shutdown-delay to "flush" and then writes
// /cyberdata/clean-shutdown. The settings come from what the program declares for the local stack's
// fixnode (under Pulumi's mocks: the Docker provider plugin is not available here), applied with the
// docker CLI the way the provider applies them.

// biome-ignore lint/suspicious/noExplicitAny: engine inputs are untyped JSON
type Json = Record<string, any>;
const PROJECT = join(__dirname, "../..");
const IMAGE = faultImage("stop");
const loaded = fixtureSpec(IMAGE);
const data = mkdtempSync(join(tmpdir(), "cybernode-fault-stop-"));
const container = faultName("stop");
let declared: Json;
let imageId = "";

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
  const { declared: all } = await runStackWithMocks("local", join(PROJECT, "stacks/Pulumi.local.yaml"), {
    plain: { "cybernode:uid": "1000" },
  });
  declared = all.find((d) => d.type === "docker:index/container:Container" && d.name === "fixnode")?.inputs as Json;
  imageId = (await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} })).imageId;
  chownSync(data, 1000, 1000);
});

test.after.always(async () => {
  if (SKIP_DOCKER) return;
  await removeContainers(container);
  await removeTestImages(IMAGE);
  rmSync(loaded.dir, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

const marker = join(data, "clean-shutdown");
const cleanStops = () => (existsSync(marker) ? readFileSync(marker, "utf8").split("\n").filter(Boolean).length : 0);

/** `docker run` with the container settings the program declares (stop signal and timeout, logs, hardening, args). */
async function startAsDeclared(): Promise<void> {
  await removeContainers(container);
  const i = declared;
  await docker([
    "run",
    "-d",
    "--name",
    container,
    "-u",
    String(i.user),
    "--stop-signal",
    String(i.stopSignal),
    "--stop-timeout",
    String(i.stopTimeout),
    "--log-driver",
    String(i.logDriver),
    ...Object.entries(i.logOpts as Record<string, string>).flatMap(([k, v]) => ["--log-opt", `${k}=${v}`]),
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
    "-v",
    `${data}:/cyberdata`,
    imageId,
    ...(i.command as string[]),
  ]);
  // Wait until the daemon has installed its signal handler (it prints "started" after that point).
  await poll(async () => (await docker(["logs", container])).includes("started"), 10_000);
}

const exitCode = async () => Number(await docker(["inspect", "--format", "{{.State.ExitCode}}", container]));

dockerTest("the declared stop settings give the daemon its grace period; the provider's default kills it mid-flush", async (t) => {
  t.is(declared.stopSignal, "SIGTERM");
  t.true(declared.stopTimeout >= 10, "the grace period covers the fixture's 3 s flush");
  t.is(declared.destroyGraceSeconds, declared.stopTimeout, "replacements and destroys wait as long as docker stop");
  t.true((declared.command as string[]).includes("--shutdown-delay=3s"), "the local stack's fixnode flushes for 3 s");

  // 1. docker stop without -t: the container's own StopTimeout applies.
  await startAsDeclared();
  let t0 = Date.now();
  await docker(["stop", container]);
  const stopMs = Date.now() - t0;
  t.is(cleanStops(), 1, "docker stop: the clean-shutdown marker was written");
  t.is(await exitCode(), 0, "docker stop: exit 0, not 137");
  t.true(stopMs >= 3000, `docker stop waited for the flush (${stopMs} ms)`);

  // 2. What the provider does on replace/destroy with destroyGraceSeconds: stop with that timeout, then remove.
  await startAsDeclared();
  t0 = Date.now();
  await docker(["stop", "-t", String(declared.destroyGraceSeconds), container]);
  await docker(["rm", "-f", "-v", container]);
  const destroyMs = Date.now() - t0;
  t.is(cleanStops(), 2, "replace/destroy: the marker was written again");

  // 3. The anchor: the provider without destroyGraceSeconds removes the running container by force.
  await startAsDeclared();
  t0 = Date.now();
  await docker(["rm", "-f", "-v", container]);
  const killMs = Date.now() - t0;
  t.is(cleanStops(), 2, "a forced removal leaves no clean-shutdown marker: the daemon was killed mid-flush");
  t.log(
    `SIGTERM to exit: docker stop ${stopMs} ms, stop+remove with destroyGraceSeconds ${destroyMs} ms (clean); forced removal ${killMs} ms (killed, no marker)`,
  );
});

dockerTest("the run image carries the spec's health check and the node turns healthy", async (t) => {
  const test = JSON.parse(await docker(["image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", imageId]));
  t.deepEqual(test, ["CMD", ...(loaded.spec.run.health?.command ?? [])]);
  await startAsDeclared();
  const t0 = Date.now();
  const status = await poll(
    async () => {
      const s = await docker(["inspect", "--format", "{{.State.Health.Status}}", container]);
      return s === "healthy" ? s : null;
    },
    30_000,
    250,
  );
  t.is(status, "healthy", "the fixture's own RPC client answers inside the container");
  t.log(`healthy ${Date.now() - t0} ms after start (interval ${loaded.spec.run.health?.interval} s)`);
  await docker(["stop", container]);
});
