import test from "ava";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleAndLoad, buildImage, type BuildResult } from "../../src/builder/builder";
import { StepFailedError } from "../../src/builder/runSteps";
import { DockerError, daemonInfo, docker, dockerMaybe, onDockerHost } from "../../src/docker/cli";
import { binariesProvider, buildImageProvider, PROVIDER_VERSION, runImageProvider } from "../../src/provider/imageResources";
import { dataDirProvider } from "../../src/provider/dataDirOps";
import { loadSpec } from "../../src/imageSpec/load";
import { inspectField, runCli } from "../helpers/cli";
import { fixtureSpec, removeTestImages, requireDocker, TEST_BASE_IMAGES, testBaseMap } from "../helpers/docker";
import { type PodmanHost, SKIP_PODMAN, startPodmanService } from "../helpers/podmanHost";
import { runProviderProcess } from "../helpers/providerHost";
import { startSshHost } from "../helpers/sshHost";

// The builder and the paths our own code owns, against Podman's Docker-compatible API service
// (Debian's podman 4.3.1, rootful): builds, run image IDs compared with Docker's, clean, doctor. A node
// on Podman under the real Docker provider (uid, kill -9, no-op, destroy with its grace) is in
// tests/deploy/remote-hosts.test.ts.

const PROJECT = join(__dirname, "../..");
const RUN_ID = Math.random().toString(36).slice(2, 8);
const podmanTest = SKIP_PODMAN ? test.serial.skip : test.serial;
let podman: PodmanHost;
const scratch = mkdtempSync(join(tmpdir(), "cybernode-podman-test-"));
const names: string[] = [];

/** Runs fn with every docker call addressed to the Podman service. */
const onPodman = <T>(fn: () => Promise<T>) => onDockerHost(podman.host, fn);
const quiet = { baseMap: testBaseMap(), log: () => {} };

test.before(async () => {
  if (SKIP_PODMAN) return;
  await requireDocker();
  podman = await startPodmanService();
  const bases = await onPodman(() => dockerMaybe(["image", "inspect", "--format", "{{.Id}}", "cybernode-test/golang:1.26-bookworm"]));
  if (!bases) throw new Error("the test base images are not in Podman's store: run bash scripts/start-podman.sh");
});

test.after.always(async () => {
  if (SKIP_PODMAN || !podman) return;
  await onPodman(async () => {
    for (const n of names) await dockerMaybe(["rm", "-f", "-v", n]);
    await removeTestImages(`test/podman-fix-${RUN_ID}`);
    await removeTestImages(`test/podman-libs-${RUN_ID}`);
  });
  await removeTestImages(`test/podman-fix-${RUN_ID}`);
  await podman.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const fixture = fixtureSpec(`test/podman-fix-${RUN_ID}`);
let fixtureBuild: BuildResult;

podmanTest("the fixture builds through Podman's socket, and its run image ID is the one Docker gives for the same bin/", async (t) => {
  const info = await onPodman(() => daemonInfo());
  t.is(info.kind, "podman", "the engine is told apart from Docker");
  t.false(info.rootless);

  const cold = await onPodman(() => buildImage(fixture, quiet));
  t.is(cold.stepsRun, 3, "steps ran as containers on Podman and were committed (Podman 4.3 refuses the CLI's body-less commit)");
  t.true(cold.extracted, "artifacts copied out of the build image (docker cp through Podman, safe tar)");
  t.true(cold.loaded);
  t.is(await onPodman(() => dockerMaybe(["image", "inspect", "--format", "{{.Id}}", cold.tags[0]])), cold.imageId);
  t.regex(await onPodman(() => docker(["volume", "ls", "-q"])), /cybernode-cache-go-build/, "the Go build cache is a named volume there");

  const again = await onPodman(() => buildImage(fixture, quiet));
  t.is(again.stepsRun, 0, "an unchanged build runs no container: Podman's tags (docker.io/…, localhost/…) are matched");
  t.false(again.loaded);
  t.is(again.imageId, cold.imageId);

  const onDocker = await assembleAndLoad(fixture, cold.manifest, quiet);
  t.is(onDocker.imageId, cold.imageId, "same binaries, same image ID on both engines");
  fixtureBuild = cold;
  t.log(
    `Podman cold fixture build ${cold.seconds.toFixed(1)} s (steps ${cold.stepSeconds.map((s) => s.toFixed(1)).join(", ")}), no-op ${again.seconds.toFixed(2)} s`,
  );
});

podmanTest("the run image on Podman has the declared user, entrypoint and files (cybernode inspect)", async (t) => {
  t.truthy(fixtureBuild, "needs the build above");
  const r = await runCli(["inspect", fixtureBuild.tags[0]], { DOCKER_HOST: podman.host });
  t.is(r.code, 0, r.stderr);
  t.is(inspectField(r.stdout, "id"), fixtureBuild.imageId);
  t.is(inspectField(r.stdout, "user"), "1000:1000");
  t.is(inspectField(r.stdout, "volumes"), "/cyberdata");
  t.regex(r.stdout, /cyberapp\/fixnode/);
});

podmanTest("library bundling works on Podman, and a failing step reports its number and leaves no container", async (t) => {
  const libs = fixtureSpec(`test/podman-libs-${RUN_ID}`, (s) => {
    s.build = {
      from: "debian:bookworm",
      steps: ["mkdir -p /out && cp /usr/bin/sha256sum /out/ && echo 1.0.0 > /out/VERSION"],
      artifacts: ["/out/sha256sum"],
      version: { file: "/out/VERSION" },
    };
    s.run = { ...s.run, entrypoint: ["/cyberapp/sha256sum"], bundleLibs: true };
    delete s.run.health;
    delete s.container.status;
  });
  const built = await onPodman(() => buildImage(libs, quiet));
  const out = await onPodman(() => docker(["run", "--rm", "--read-only", "-u", "1000:1000", built.imageId, "--version"]));
  t.regex(out, /sha256sum \(GNU coreutils\)/, "a dynamically linked binary runs in scratch with its bundled libraries");

  const failing = fixtureSpec(`test/podman-libs-${RUN_ID}`, (s) => {
    s.build.steps = ["mkdir -p /out", "echo going to fail >&2; exit 7"];
  });
  const err = await t.throwsAsync(onPodman(() => buildImage(failing, quiet)));
  t.true(err instanceof StepFailedError, String(err));
  t.regex(err!.message, /build step 2\/2 failed with exit code 7/);
  t.regex(err!.message, /going to fail/);
  const left = await onPodman(() => docker(["ps", "-a", "-q", "--filter", "label=cybernode.temp=1", "--filter", `name=-${process.pid}-`]));
  t.is(left, "", "the failed step's container was removed");
  rmSync(libs.dir, { recursive: true, force: true });
  rmSync(failing.dir, { recursive: true, force: true });
});

podmanTest("btcd builds through Podman from pinned source, with the run image ID Docker gives for the same binaries", async (t) => {
  const btcd = loadSpec(join(PROJECT, "images"), "fullnode/btcd");
  const built = await onPodman(() => buildImage(btcd, quiet));
  t.deepEqual(built.manifest.artifacts.slice().sort(), ["btcctl", "btcd"]);
  const version = await onPodman(() => docker(["run", "--rm", "--entrypoint", "/cyberapp/btcd", built.imageId, "--version"]));
  t.regex(version, /btcd version 0\.26/);
  const onDocker = await assembleAndLoad(btcd, built.manifest, quiet);
  t.is(onDocker.imageId, built.imageId);
  t.log(`btcd on Podman: ${built.stepsRun} of ${built.stepsTotal} steps ran, ${built.seconds.toFixed(1)} s, ${built.imageId}`);
});

podmanTest(
  "a stack whose host is the Podman socket: images built there (buildOn: host), data folder made, nothing sent when unchanged",
  async (t) => {
    const dataDir = join(scratch, "stack-fixnode");
    const common = {
      image: "fullnode/fixnode",
      projectDir: PROJECT,
      imagesRoot: join(PROJECT, "tests/fixtures/images"),
      baseImages: Object.fromEntries(testBaseMap()),
      buildHost: podman.host,
      providerVersion: PROVIDER_VERSION,
    };
    const r = (await runProviderProcess(
      { build: buildImageProvider, bin: binariesProvider, run: runImageProvider, dir: dataDirProvider },
      `
    const b = await provider.build.create({ ...input.common, buildHash: "h" });
    const x = await provider.bin.create({ ...input.common, buildKey: b.outs.buildKey });
    const runIn = { ...input.common, runHash: "r", binariesDigest: x.outs.digest, targetHost: input.common.buildHost };
    const r = await provider.run.create(runIn);
    await provider.dir.create({ path: input.dataDir, uid: 1000, selinux: false, host: input.common.buildHost, image: r.outs.imageId });
    const r2 = await provider.run.update(r.id, r.outs, runIn);
    return { first: r.outs, second: r2.outs };`,
      { common, dataDir },
    )) as { first: { imageId: string; shippedBytes: number }; second: { imageId: string; shippedBytes: number } };
    t.is(await onPodman(() => docker(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-fixnode:latest"])), r.first.imageId);
    t.is(r.second.imageId, r.first.imageId);
    t.is(r.second.shippedBytes, 0);
    t.is(statSync(dataDir).uid, 1000);
  },
);

podmanTest("engine errors name Podman, the host and the command; doctor tells Podman from Docker", async (t) => {
  const err = await onPodman(async () => {
    await daemonInfo();
    return t.throwsAsync(docker(["image", "inspect", "cybernode/no-such-image:1"]));
  });
  t.true(err instanceof DockerError);
  t.regex(err!.message, new RegExp(`docker image inspect cybernode/no-such-image:1 failed on Podman 4\\.\\d+\\.\\d+ at ${podman.host}`));

  const doctor = await runCli(["doctor", "--data-root", scratch], { DOCKER_HOST: podman.host });
  t.regex(doctor.stdout, /^ok {3}engine {7}Podman 4\.\d+\.\d+ \(amd64\), rootful, via unix:\/\//m);
  t.regex(doctor.stdout, /^ok {3}ulimits /m, "the limits start-podman.sh wrote fit this machine");
  t.notRegex(doctor.stdout, /docker group/);
  const onDocker = await runCli(["doctor", "--data-root", scratch]);
  t.regex(onDocker.stdout, /^ok {3}engine {7}Docker /m);
});

podmanTest("cybernode clean on Podman removes build-step images and keeps run images", async (t) => {
  t.truthy(fixtureBuild, "needs the build above");
  const r = await runCli(["clean"], { DOCKER_HOST: podman.host });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /removed \d+ temporary container\(s\), [1-9]\d* build-step image tag\(s\)/);
  t.is(await onPodman(() => docker(["image", "ls", "-q", "--filter", "reference=cybernode-step/*"])), "");
  t.is(await onPodman(() => docker(["image", "inspect", "--format", "{{.Id}}", fixtureBuild.tags[0]])), fixtureBuild.imageId);
});

podmanTest("builds through ssh:// to a Podman host: steps committed over `docker system dial-stdio`, files copied in", async (t) => {
  const ssh = await startSshHost({ host: podman.host, stop: async () => {} });
  try {
    await onPodman(() => removeTestImages("fullnode/fixnode")); // step and run images: all of it goes over ssh
    const r = await runCli(["build", "--images", join(PROJECT, "tests/fixtures/images"), "fullnode/fixnode"], {
      ...ssh.env,
      DOCKER_HOST: ssh.host,
      CYBERNODE_BASE_IMAGES: TEST_BASE_IMAGES,
    });
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^steps {4}3 of 3 ran/m, "every step ran and was committed over ssh");
    const id = inspectField(r.stdout, "id");
    t.is(await onPodman(() => docker(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-fixnode:latest"])), id ?? "");
  } finally {
    await ssh.stop();
  }
});
