import test from "ava";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { docker } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, SKIP_DOCKER, testBaseMap } from "../helpers/docker";
import { faultImage, faultName, poll, removeContainers } from "../helpers/faults";

// The run image itself: its health check is the spec's and works in a plain `docker run` of the image.
// How Pulumi stops a node (the stop signal, its grace on docker stop, replace and destroy) is tested
// under the real Docker provider in tests/deploy (local-stack, rollout-promotion, interruptions).

const IMAGE = faultImage("health");
const loaded = fixtureSpec(IMAGE);
const data = mkdtempSync(join(tmpdir(), "cybernode-fault-health-"));
const container = faultName("health");
let imageId = "";

test.before(async () => {
  if (SKIP_DOCKER) return;
  await requireDocker();
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

dockerTest("the run image carries the spec's health check, and a plain docker run of it turns healthy", async (t) => {
  const health = JSON.parse(await docker(["image", "inspect", "--format", "{{json .Config.Healthcheck}}", imageId]));
  const spec = loaded.spec.run.health;
  t.deepEqual(health.Test, ["CMD", ...(spec?.command ?? [])]);
  t.is(health.Interval, (spec?.interval ?? 0) * 1e9);
  t.is(health.Retries, spec?.retries);
  await docker(["run", "-d", "--name", container, "-u", "1000:1000", "--read-only", "-v", `${data}:/cyberdata`, imageId]);
  const t0 = Date.now();
  const status = await poll(
    async () => ((await docker(["inspect", "--format", "{{.State.Health.Status}}", container])) === "healthy" ? "healthy" : null),
    30_000,
    250,
  );
  t.is(status, "healthy", "the fixture's own RPC client answers inside the container");
  t.log(`healthy ${Date.now() - t0} ms after start (interval ${spec?.interval} s)`);
});
