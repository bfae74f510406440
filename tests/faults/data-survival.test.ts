import test from "ava";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { dataDirProvider } from "../../src/provider/dataDirOps";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, testBaseMap } from "../helpers/docker";
import {
  bytesLost,
  containerState,
  faultImage,
  faultName,
  lineCount,
  poll,
  removeContainers,
  runFixture,
  snapshot,
  temporariesOf,
  totalBytes,
} from "../helpers/faults";
import { runProviderProcess } from "../helpers/providerHost";

// Fault: the node's image is rebuilt and its container replaced (what `pulumi up` does after a run-spec
// change), and the DataDir resource is deleted (what `pulumi destroy` or disabling a node does).
// Nothing in the data folder may be lost.

const IMAGE = faultImage("data");
const loaded = fixtureSpec(IMAGE);
const quiet = { baseMap: testBaseMap(), log: () => {} };
const root = mkdtempSync(join(tmpdir(), "cybernode-fault-data-"));
const container = faultName("data");

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER !== "1") await requireDocker();
});

test.after.always(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await removeContainers(container);
  await removeTestImages(IMAGE);
  rmSync(loaded.dir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

dockerTest("data survives an image rebuild, a container replacement and the DataDir delete: 0 bytes lost", async (t) => {
  const path = join(root, container);
  const first = await buildImage(loaded, quiet);
  const input = { path, uid: 1000, selinux: false, host: "unix:///var/run/docker.sock", image: first.imageId };
  const created = (await runProviderProcess(dataDirProvider, "const c = await provider.create(input); return c;", input)) as {
    id: string;
    outs: typeof input;
  };
  t.is(statSync(path).uid, 1000, "the DataDir provider made the folder owned by the uid");

  await runFixture({ name: container, image: first.imageId, data: path });
  t.truthy(await poll(() => lineCount(join(path, "starts.log")) === 1, 20_000), "the node wrote starts.log");
  writeFileSync(join(path, "host.marker"), `written from the host ${new Date().toISOString()}\n${"x".repeat(4096)}\n`);
  const before = snapshot(path);
  t.deepEqual([...before.keys()].sort(), ["fixnode.marker", "host.marker", "starts.log"]);

  // A changed run label: same binaries, new run image ID.
  const changed = {
    ...loaded,
    spec: {
      ...loaded.spec,
      run: { ...loaded.spec.run, labels: [...loaded.spec.run.labels, ["org.cybernode.fault", "rebuilt"] as [string, string]] },
    },
  };
  const second = await buildImage(changed, quiet);
  t.not(second.imageId, first.imageId, "the rebuild gives a new run image");
  t.is(second.stepsRun, 0, "only the run image changed");
  const oldId = (await containerState(container))!.id;
  await removeContainers(container);
  await runFixture({ name: container, image: second.imageId, data: path });
  const replaced = (await containerState(container))!;
  t.not(replaced.id, oldId);
  t.is(replaced.image, second.imageId);
  t.truthy(await poll(() => lineCount(join(path, "starts.log")) === 2, 20_000), "the new container started on the same folder");

  // pulumi up again (update with the same inputs), then pulumi destroy (delete).
  await runProviderProcess(
    dataDirProvider,
    "await provider.update(input.id, input.outs, input.outs); await provider.delete(input.id, input.outs); return {};",
    created,
  );

  const after = snapshot(path);
  const lost = bytesLost(before, after);
  t.is(lost.bytes, 0, `lost: ${lost.files.join(", ")}`);
  t.deepEqual(after.get("host.marker"), before.get("host.marker"), "the marker written from the host is intact");
  t.deepEqual(after.get("fixnode.marker"), before.get("fixnode.marker"), "the node's own marker is intact");
  t.is(lineCount(join(path, "starts.log")), 2);
  t.true(readFileSync(join(path, "starts.log")).subarray(0, before.get("starts.log")!.length).equals(before.get("starts.log")!));
  t.is(statSync(path).uid, 1000, "still owned by the node uid");
  t.deepEqual(await temporariesOf(process.pid), []);
  t.log(
    `data survival: ${before.size} files / ${totalBytes(before)} bytes before, ${lost.bytes} bytes lost after rebuild + replace + DataDir delete; starts.log ${lineCount(join(path, "starts.log"))} lines`,
  );
});
