import test from "ava";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/builder/builder";
import { dockerTest } from "../helpers/dockerTest";
import { fixtureSpec, removeTestImages, requireDocker, testBaseMap } from "../helpers/docker";
import {
  bytesLost,
  containerState,
  faultImage,
  faultName,
  freePort,
  lineCount,
  poll,
  removeContainers,
  runFixture,
  snapshot,
} from "../helpers/faults";
import { rpc, waitForRpc } from "../helpers/rpc";

// Fault: the node process dies (kill -9 from the host, as the OOM killer or a crash would), not a
// `docker stop`. The restart policy must bring it back on the same data, with RPC answering again.

const IMAGE = faultImage("restart");
const loaded = fixtureSpec(IMAGE);
const data = mkdtempSync(join(tmpdir(), "cybernode-fault-restart-"));
const container = faultName("restart");
const KILLS = 3;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER !== "1") await requireDocker();
});

test.after.always(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await removeContainers(container);
  await removeTestImages(IMAGE);
  rmSync(loaded.dir, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

const starts = () => lineCount(join(data, "starts.log"));

dockerTest(`a node killed with SIGKILL ${KILLS} times is restarted by its policy, answers RPC again, keeps its data`, async (t) => {
  const built = await buildImage(loaded, { baseMap: testBaseMap(), log: () => {} });
  chownSync(data, 1000, 1000);
  const port = await freePort();
  const id = await runFixture({ name: container, image: built.imageId, data, rpcPort: port });
  await waitForRpc(port);
  writeFileSync(join(data, "host.marker"), "written from the host\n");
  const times: number[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    const before = (await containerState(container))!;
    const startsBefore = starts();
    const files = snapshot(data);
    t.true(before.running && before.pid > 0, `kill ${kill}: running before`);
    const t0 = Date.now();
    process.kill(before.pid, "SIGKILL");
    const back = await poll(async () => {
      const s = await containerState(container);
      return s?.running && s.restartCount > before.restartCount && s.pid > 0 && s.pid !== before.pid ? s : null;
    }, 30_000);
    t.truthy(back, `kill ${kill}: the container came back within 30 s`);
    if (!back) return;
    await waitForRpc(port);
    const ms = Date.now() - t0;
    times.push(ms);
    t.is(back.id, id, "the same container (restarted, not replaced)");
    t.is(back.restartCount, before.restartCount + 1, "RestartCount increased by one");
    t.deepEqual(await rpc(port, "getblockcount"), { result: 0, error: null, id: 1 });
    const info = (await rpc(port, "getinfo")) as { result: { starts: number; uid: number } };
    t.is(info.result.uid, 1000);
    t.is(starts(), startsBefore + 1, "starts.log grew by one line");
    t.is(info.result.starts, startsBefore + 1);
    const lost = bytesLost(files, snapshot(data));
    t.is(lost.bytes, 0, `kill ${kill}: lost ${lost.files.join(", ")}`);
    t.log(
      `kill -9 #${kill}: pid ${before.pid} -> ${back.pid}, RestartCount ${before.restartCount} -> ${back.restartCount}, RPC answering after ${ms} ms, 0 bytes lost`,
    );
  }
  t.is(times.length, KILLS);
  t.log(
    `restart policy: ${times.length}/${KILLS} kills survived; kill-to-RPC ${Math.min(...times)}-${Math.max(...times)} ms (Docker's restart back-off included)`,
  );
});
