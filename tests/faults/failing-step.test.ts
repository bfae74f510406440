import test from "ava";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/builder/builder";
import { StepFailedError } from "../../src/builder/runSteps";
import { docker, dockerMaybe } from "../../src/docker/cli";
import type { LoadedSpec } from "../../src/imageSpec/load";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, testBaseMap } from "../helpers/docker";
import {
  binState,
  bytesLost,
  containerState,
  faultImage,
  faultName,
  freePort,
  partialFolders,
  removeContainers,
  runFixture,
  snapshot,
  temporariesOf,
} from "../helpers/faults";
import { rpc, waitForRpc } from "../helpers/rpc";

// Fault: a build whose step fails while a node runs the current image. The previous run image, the
// running container and bin/ must be exactly as they were.

const IMAGE = faultImage("fail");
const loaded = fixtureSpec(IMAGE);
const quiet = { baseMap: testBaseMap(), log: () => {} };
const data = mkdtempSync(join(tmpdir(), "cybernode-fault-fail-"));
const container = faultName("fail");
let current: BuildResult;
let port = 0;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  current = await buildImage(loaded, quiet);
  chownSync(data, 1000, 1000);
  port = await freePort();
  await runFixture({ name: container, image: current.imageId, data, rpcPort: port });
  await waitForRpc(port);
});

test.after.always(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await removeContainers(container);
  await removeTestImages(IMAGE);
  rmSync(loaded.dir, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

const withSteps = (steps: string[]): LoadedSpec => ({ ...loaded, spec: { ...loaded.spec, build: { ...loaded.spec.build, steps } } });
const steps = () => loaded.spec.build.steps;

const CASES: [string, () => LoadedSpec, number][] = [
  ["a failing step added after the last one", () => withSteps([...steps(), "echo checking; echo 'disk quota exceeded' >&2; exit 3"]), 4],
  ["the last step changed so that it fails", () => withSteps([...steps().slice(0, 2), "/out/fixnode --no-such-flag > /out/VERSION"]), 3],
  [
    "the compile step changed so that it fails",
    () => withSteps([steps()[0], "cd /cyberinputs && go build -o /out/fixnode ./no-such-package", steps()[2]]),
    2,
  ],
];

for (const [what, spec, failingStep] of CASES) {
  dockerTest(`${what}: previous run image, running node and bin/ unchanged`, async (t) => {
    const node = (await containerState(container))!;
    const bin = binState(current.binDir);
    const files = snapshot(current.binDir);
    const tag = `${current.tags[0]}`;
    const err = await t.throwsAsync(buildImage(spec(), quiet), { instanceOf: StepFailedError });
    t.is(err!.step, failingStep);
    t.regex(err!.message, new RegExp(`image ${IMAGE}: build step ${failingStep}/\\d failed with exit code [1-9]`));
    t.is(
      await dockerMaybe(["image", "inspect", "--format", "{{.Id}}", current.imageId]),
      current.imageId,
      "the previous run image is present",
    );
    t.is(await docker(["image", "inspect", "--format", "{{.Id}}", tag]), current.imageId, `${tag} still names it`);
    const after = (await containerState(container))!;
    t.deepEqual(after, node, "the node container is untouched (same ID, pid, start time, restart count)");
    t.true(after.running);
    t.deepEqual(await rpc(port, "getblockcount"), { result: 0, error: null, id: 1 });
    const binAfter = binState(current.binDir);
    t.is(binAfter.manifest, bin.manifest, "bin/MANIFEST.json has the same bytes");
    t.true(binAfter.intact, binAfter.bad.join("; "));
    const lost = bytesLost(files, snapshot(current.binDir));
    t.is(lost.bytes, 0);
    t.deepEqual(partialFolders(loaded.dir), []);
    t.deepEqual(await temporariesOf(process.pid), []);
    t.log(
      `${what}: step ${err!.step} failed (exit ${err!.exitCode}); image ${current.imageId.slice(7, 19)} kept, node running, bin/ ${bin.manifest!.length}-byte manifest unchanged, ${lost.bytes} bytes lost, 0 temporary containers`,
    );
  });
}
