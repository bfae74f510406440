import test from "ava";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/builder/builder";
import { DockerUnreachableError } from "../../src/docker/cli";
import { dockerTest } from "../helpers/dockerTest";
import { runCli } from "../helpers/cli";
import { fixtureSpec, requireDocker, TEST_BASE_IMAGES, testBaseMap } from "../helpers/docker";
import fixture from "../fixtures/images/fullnode/fixnode";
import { faultImage } from "../helpers/faults";
import { createRestartableDaemon, type RestartableDaemon } from "../helpers/restartableDaemon";
import { backgroundCleanups } from "../../src/docker/temporaries";

// Fault: the Docker daemon stops in the middle of a build step (a `systemctl restart docker`, an
// upgrade, a crash) and comes back on the same data root. The build must fail with an error that says
// so, and the next build must complete from the cache and leave no temporary container behind.
// The test's own engine is a private dockerd, so stopping it touches nobody else's work.

const IMAGE = faultImage("engine");
const SLEEP_STEP = "echo started; sleep 20";
const loaded = fixtureSpec(IMAGE, (s) => s.build.steps.push(SLEEP_STEP));
const quiet = { baseMap: testBaseMap(), log: () => {} };
const root = mkdtempSync(join(tmpdir(), "cybernode-fault-engine-"));
let engine: RestartableDaemon | undefined;
/** The main engine's bridge; a second dockerd must never remove it. */
const DOCKER0 = "/sys/class/net/docker0";
const hadDocker0 = existsSync(DOCKER0);
/** Temporary containers the killed CLI process left, counted after a later CLI build on the restarted engine. */
let cliLeftovers: string[] | undefined;

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  engine = createRestartableDaemon();
  await engine.start();
  // The golang stand-in, from the main engine into the private one.
  const r = spawnSync("sh", ["-c", `docker save cybernode-test/golang:1.26-bookworm | DOCKER_HOST='${engine.host}' docker load -q`], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`loading the golang stand-in: ${r.stderr}`);
});

test.after.always(async () => {
  await engine?.dispose();
  rmSync(loaded.dir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

/** Runs `fn` with DOCKER_HOST pointing at the private engine, restoring it afterwards. */
async function onEngine<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = engine!.host;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  }
}

const temporaries = () =>
  engine!.docker(["ps", "-a", "--filter", "label=cybernode.temp=1", "--format", "{{.Names}}"]).stdout.split("\n").filter(Boolean);

/**
 * The temporaries once a finished build's container is gone: Docker removes it (--rm) while the build
 * returns, in well under a second. In-process builds are waited for; a CLI build's, up to 10 s.
 */
async function temporariesWhenSettled(): Promise<string[]> {
  await backgroundCleanups();
  for (let waited = 0; waited < 10_000 && temporaries().length; waited += 100) await new Promise((r) => setTimeout(r, 100));
  return temporaries();
}

dockerTest(
  "dockerd stopped during a build step: a clear error, then after a restart the build completes from the cache with no temporaries left",
  async (t) => {
    const total = loaded.spec.build.steps.length;
    let stoppedAfterMs = 0;
    let stopping: Promise<void> = Promise.resolve();
    const t0 = Date.now();
    const failed = await onEngine(() =>
      buildImage(loaded, {
        ...quiet,
        log: (line) => {
          if (!stoppedAfterMs && line.includes(`step ${total}/${total}] started`)) {
            stoppedAfterMs = Date.now() - t0;
            stopping = engine!.stop("SIGTERM");
          }
        },
      }).then(
        (r) => r as BuildResult | Error,
        (e: Error) => e,
      ),
    );
    await stopping;
    t.true(stoppedAfterMs > 0, "the daemon was stopped while the last step ran");
    t.true(failed instanceof Error, "the build failed");
    const message = (failed as Error).message;
    t.log(
      `daemon stopped ${(stoppedAfterMs / 1000).toFixed(1)} s into the build (step ${total}/${total}); the build failed after ${((Date.now() - t0) / 1000).toFixed(1)} s with ${(failed as Error).name}: ${message.replace(/\s+/g, " ").slice(0, 400)}`,
    );
    t.true(failed instanceof DockerUnreachableError, `the error is about Docker, not the step: ${(failed as Error).name}`);
    t.regex(
      message.replaceAll(IMAGE, "<image>"),
      /The container engine is not reachable through DOCKER_HOST=unix:\/\/\S+: it stopped answering during build step 4\/4/,
    );

    await engine!.start();
    const leftAfterRestart = temporaries();
    const ok = await onEngine(() => buildImage(loaded, quiet));
    const left = await temporariesWhenSettled();
    t.log(
      `after the restart: ${leftAfterRestart.length} temporary container(s) from the failed build; the next build ran ${ok.stepsRun} of ${ok.stepsTotal} steps in ${ok.seconds.toFixed(1)} s; ${left.length} temporary container(s) left`,
    );
    t.is(ok.stepsRun, 1, "steps committed before the daemon stopped come from the cache");
    t.true(ok.extracted);
    t.is(ok.version, "1.0.0");
    t.is(
      engine!.docker(["image", "inspect", "--format", "{{.Id}}", ok.imageId]).stdout.trim(),
      ok.imageId,
      "the run image is on the restarted engine",
    );
    t.deepEqual(left, [], "no temporary container left on the engine");
  },
);

dockerTest("the same with the CLI: a new process builds after the restart", async (t) => {
  // The same spec as a plain file (no project imports) with its inputs, under the same name, so steps
  // 1-3 are cached on the engine from the test above; the last step differs, so it runs.
  const file = IMAGE.split("/")[1];
  mkdirSync(join(root, "fullnode"), { recursive: true });
  writeFileSync(
    join(root, "fullnode", `${file}.ts`),
    `export default ${JSON.stringify({ ...fixture, build: { ...fixture.build, steps: [...fixture.build.steps, `${SLEEP_STEP} # cli`] } }, null, 2)};\n`,
  );
  cpSync(loaded.dir, join(root, "fullnode", file), { recursive: true, filter: (src) => !src.includes("/bin") });
  const env = { CYBERNODE_BASE_IMAGES: TEST_BASE_IMAGES, DOCKER_HOST: engine!.host };
  let stopping: Promise<void> = Promise.resolve();
  let pid = 0;
  let stopped = false;
  const first = await runCli(["build", IMAGE, "--images", root], env, (child) => {
    pid = child.pid!;
    let err = "";
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
      if (!stopped && /step 4\/4\] started/.test(err)) {
        stopped = true;
        stopping = engine!.stop("SIGTERM");
      }
    });
  });
  await stopping;
  t.true(stopped, `the daemon was stopped while the last step ran (exit ${first.code}): ${first.stderr.slice(-1500)}`);
  t.is(first.code, 1);
  t.regex(
    first.stderr,
    /cybernode build: The container engine is not reachable through DOCKER_HOST=\S+: it stopped answering during build step 4\/4/,
  );
  t.notRegex(first.stderr, /\n\s+at /, "a known error: no stack trace");

  await engine!.start();
  const second = await runCli(["build", IMAGE, "--images", root, "--json"], env);
  t.is(second.code, 0, second.stderr);
  const r = JSON.parse(second.stdout) as { stepsRun: number; stepsTotal: number };
  t.is(r.stepsRun, 1);
  cliLeftovers = await temporariesWhenSettled();
  t.log(
    `CLI: exit ${first.code} with "${first.stderr
      .split("\n")
      .find((l) => l.startsWith("cybernode build:"))
      ?.slice(
        0,
        160,
      )}..."; after the restart a new CLI build ran ${r.stepsRun} of ${r.stepsTotal} steps; ${cliLeftovers.length} temporary container(s) of the stopped CLI process (pid ${pid}) left on the engine: ${cliLeftovers.join(", ")}`,
  );
});

dockerTest("the main engine's bridge (docker0) survived the private engine's starts and stops", (t) => {
  t.is(existsSync(DOCKER0), hadDocker0);
});

// A build process that ends while the daemon is down cannot remove its step container; the next build
// on this machine removes the temporaries of builder processes that no longer run.
dockerTest("a later build process removes the temporaries a stopped daemon left behind", (t) => {
  if (cliLeftovers === undefined) return void t.fail("the CLI scenario did not run");
  t.deepEqual(cliLeftovers, []);
});
