import test from "ava";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker, dockerEnv, dockerStream } from "../../src/docker/cli";
import { Interrupted, Temporaries, withEngine } from "../../src/docker/engine";
import { createStopped, trackTemporary, withTemporary } from "../../src/docker/temporaries";

// The temporary-container lifecycle and cancellation against a fake engine: a `docker` script on PATH
// that logs each call (with its DOCKER_HOST) and makes `run` a long step. No dockerd needed.

const dir = mkdtempSync(join(tmpdir(), "cybernode-fake-docker-"));
const log = join(dir, "calls.log");
writeFileSync(
  join(dir, "docker"),
  `#!/bin/sh\necho "\${DOCKER_HOST:-default} $*" >> "${log}"\ncase "$1" in run) exec sleep 30 ;; fail) echo boom >&2; exit 3 ;; esac\nexit 0\n`,
);
chmodSync(join(dir, "docker"), 0o755);
process.env.PATH = `${dir}:${process.env.PATH}`;
process.env.DOCKER_HOST = "unix:///fake.sock";

const calls = () => readFileSync(log, "utf8").split("\n").filter(Boolean);
const reset = () => writeFileSync(log, "");

test.serial("an abort during a step kills the docker child at once, removes the temporary, and rejects with Interrupted", async (t) => {
  reset();
  const controller = new AbortController();
  const temporaries = new Temporaries();
  let created = "";
  const started = Date.now();
  const work = withEngine({ signal: controller.signal, temporaries }, () =>
    withTemporary("step", async ({ name, createArgs }) => {
      created = name;
      t.is(temporaries.containers.get(name), "unix:///fake.sock", "tracked with its host while it exists");
      return dockerStream(["run", ...createArgs, "img", "sh", "-c", "build"]);
    }),
  );
  setTimeout(() => controller.abort(new Interrupted("SIGINT")), 300);
  const err = await t.throwsAsync(work, { instanceOf: Interrupted });
  const ms = Date.now() - started;
  t.true(ms < 5000, `ended ${ms} ms after start, not after the 30 s step`);
  t.regex(err?.message ?? "", /interrupted \(SIGINT\)/);
  t.deepEqual(
    calls().filter((c) => c.includes(" rm ")),
    [`unix:///fake.sock rm -f -v ${created}`],
    "removed on the host it was created on, although the work was cancelled",
  );
  t.is(temporaries.containers.size, 0);
  t.is(temporaries.children.size, 0, "no docker child left running");
});

test.serial("a failing step removes its temporary and passes the error on", async (t) => {
  reset();
  const temporaries = new Temporaries();
  let created = "";
  const err = await t.throwsAsync(
    withEngine({ temporaries }, () =>
      withTemporary("step", async ({ name }) => {
        created = name;
        await docker(["fail", name]);
      }),
    ),
  );
  t.regex(err?.message ?? "", /docker fail .*exit 3.*boom/);
  t.true(calls().includes(`unix:///fake.sock rm -f -v ${created}`));
  t.is(temporaries.containers.size, 0);
});

test.serial("cancelled work starts no docker call and creates no temporary", async (t) => {
  reset();
  const controller = new AbortController();
  controller.abort(new Interrupted("SIGTERM"));
  await t.throwsAsync(
    withEngine({ signal: controller.signal, temporaries: new Temporaries() }, () => withTemporary("step", () => docker(["run", "x"]))),
    { instanceOf: Interrupted },
  );
  t.deepEqual(calls(), []);
});

test.serial("two engines in one process keep their own hosts and temporaries; removeAllSync removes each on its host", async (t) => {
  reset();
  const a = new Temporaries();
  const b = new Temporaries();
  await Promise.all([
    withEngine({ host: "ssh://cyber@node1", temporaries: a }, async () => trackTemporary("tmp-a")),
    withEngine({ host: "", temporaries: b }, async () => trackTemporary("tmp-b")),
  ]);
  t.deepEqual([...a.containers], [["tmp-a", "ssh://cyber@node1"]]);
  t.deepEqual([...b.containers], [["tmp-b", ""]]);
  a.removeAllSync(dockerEnv);
  b.removeAllSync(dockerEnv);
  t.deepEqual(calls(), ["ssh://cyber@node1 rm -f -v tmp-a", "default rm -f -v tmp-b"]);
  t.is(process.env.DOCKER_HOST, "unix:///fake.sock", "process.env is never changed");
});

test.serial("without an Engine API to reach, a stopped temporary is created and removed with the docker CLI", async (t) => {
  reset();
  let created = "";
  await withEngine({ temporaries: new Temporaries() }, () =>
    withTemporary("extract", async (tmp) => {
      created = tmp.name;
      await createStopped(tmp, "img:tag", { entrypoint: "/bin/true" });
      await createStopped(tmp, "run:tag", { cmd: ["/none"] });
    }),
  );
  t.deepEqual(calls(), [
    `unix:///fake.sock create --name ${created} --label cybernode.temp=1 --entrypoint /bin/true img:tag`,
    `unix:///fake.sock create --name ${created} --label cybernode.temp=1 run:tag /none`,
    `unix:///fake.sock rm -f -v ${created}`,
  ]);
});
