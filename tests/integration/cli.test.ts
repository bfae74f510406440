import test from "ava";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker, dockerMaybe } from "../../src/docker/cli";
import { withTemporary } from "../../src/docker/temporaries";
import { runCli } from "../helpers/cli";
import { dockerTest } from "../helpers/dockerTest";
import { leftoverTemporaries, removeTestImages, requireDocker, TEST_BASE_IMAGES } from "../helpers/docker";

const ENV = { CYBERNODE_BASE_IMAGES: TEST_BASE_IMAGES };
const FIXTURES = join(__dirname, "../fixtures/images");
const root = mkdtempSync(join(tmpdir(), "cybernode-cli-"));

test.before(async () => {
  if (process.env.CYBERNODE_SKIP_DOCKER === "1") return;
  await requireDocker();
  mkdirSync(join(root, "fullnode"), { recursive: true });
  // A spec whose only step sleeps, to interrupt it; a random value keeps it out of the cache.
  writeFileSync(
    join(root, "fullnode", "sleepy.ts"),
    `export default {
  build: { from: "debian:bookworm", env: { RUN: "${Math.random()}" }, steps: ["echo started; sleep 120"], artifacts: ["/bin/true"], version: { command: "echo 1" } },
  run: { entrypoint: ["/cyberapp/true"] },
  container: { name: "sleepy" },
};\n`,
  );
});

test.after.always(async () => {
  rmSync(root, { recursive: true, force: true });
  if (process.env.CYBERNODE_SKIP_DOCKER !== "1") await removeTestImages("fullnode/sleepy");
});

async function waitForRunningTemp(timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await docker(["ps", "-q", "--filter", "label=cybernode.temp=1", "--filter", "status=running"])) !== "") return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("no build step container started");
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  dockerTest(`${signal} during a build step removes the temporary container`, async (t) => {
    let waited: Promise<void> | undefined;
    const r = await runCli(["build", "fullnode/sleepy", "--images", root], ENV, (child) => {
      waited = waitForRunningTemp(60_000).then(() => void child.kill(signal));
    });
    await waited;
    t.is(r.code, code, r.stderr);
    t.regex(r.stderr, new RegExp(`${signal}: removing 1 temporary container`));
    t.deepEqual(await leftoverTemporaries(), []);
  });
}

dockerTest("build prints the image ID, version and artifact sizes; inspect shows label, entrypoint, user and files", async (t) => {
  const b = await runCli(["build", "fullnode/fixnode", "--images", FIXTURES], ENV);
  t.is(b.code, 0, b.stderr);
  const id = /^id\s+(sha256:[0-9a-f]{64})$/m.exec(b.stdout)?.[1];
  t.truthy(id, b.stdout);
  t.regex(b.stdout, /^version\s+1\.0\.0$/m);
  t.regex(b.stdout, /fixnode\s+[\d.]+ KiB/);
  const i = await runCli(["inspect", "fullnode/fixnode", "--images", FIXTURES], ENV);
  t.is(i.code, 0, i.stderr);
  t.regex(i.stdout, /^version\s+1\.0\.0$/m);
  t.regex(i.stdout, /^entrypoint\s+\["\/cyberapp\/fixnode","--datadir=\/cyberdata"\]$/m);
  t.regex(i.stdout, /^user\s+1000:1000$/m);
  t.regex(i.stdout, /^ports\s+18333\/tcp 18545\/tcp$/m);
  t.regex(i.stdout, /-rwxr-xr-x 0\/0\s+\d+ 1970-01-01 00:00 cyberapp\/fixnode/);
  t.regex(i.stdout, /drwxr-xr-x 1000\/1000\s+0 1970-01-01 00:00 cyberdata\//);
  t.regex(i.stdout, /^shell\s+none$/m);
  t.notRegex(i.stdout, /\.dockerenv|etc\/hostname|dev\/console/, "the image's files, not what Docker adds to a container");
  const unknown = await runCli(["inspect", "fullnode/natz", "--images", FIXTURES], ENV);
  t.is(unknown.code, 1);
  t.regex(
    unknown.stderr,
    /'fullnode\/natz' is neither an image spec under .* \(known: fullnode\/fixnode\) nor an image on the Docker host/,
  );
  t.is(await docker(["inspect", "--format", "{{.Config.Labels.version}}", "cybernode/fullnode-fixnode:latest"]), "1.0.0");
});

/** A tiny spec on the busybox stand-in: one step (its text edited by `step`), busybox as the artifact. */
function tinySpec(name: string, step = "echo one"): void {
  writeFileSync(
    join(root, "fullnode", `${name}.ts`),
    `export default {
  build: { from: "busybox:stable", steps: [${JSON.stringify(step)}, "mkdir -p /out && cp /bin/busybox /out/tool && echo 1 > /out/VERSION"], artifacts: ["/out/tool"], version: { file: "/out/VERSION" } },
  run: { entrypoint: ["/cyberapp/tool"] },
  container: { name: "${name.replace("fullnode/", "")}" },
};\n`,
  );
}
const stepTags = async (name: string) =>
  (await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=cybernode-step/fullnode-${name}`]))
    .split("\n")
    .filter(Boolean)
    .sort();

dockerTest(
  "clean of named images: only theirs, --stale only old keys, an image in use kept and listed, an unknown name refused",
  async (t) => {
    for (const n of ["cleana", "cleanb"]) {
      tinySpec(n);
      const b = await runCli(["build", `fullnode/${n}`, "--images", root], ENV);
      t.is(b.code, 0, b.stderr);
    }
    const [a1, b1] = [await stepTags("cleana"), await stepTags("cleanb")];
    t.is(a1.length, 2);

    const unknown = await runCli(["clean", "fullnode/nope", "--images", root], ENV);
    t.is(unknown.code, 2);
    t.regex(
      unknown.stderr,
      /clean: fullnode\/nope is not an image spec under .* \(known: fullnode\/cleana, fullnode\/cleanb, fullnode\/sleepy\); nothing was removed/,
    );
    t.deepEqual(await stepTags("cleana"), a1, "nothing was removed");

    // --stale after an edited first step: the old chain goes, the current one stays.
    tinySpec("cleana", "echo two");
    t.is((await runCli(["build", "fullnode/cleana", "--images", root], ENV)).code, 0);
    const a2 = await stepTags("cleana");
    t.is(a2.length, 4, "old and new keys");
    const stale = await runCli(["clean", "fullnode/cleana", "--stale", "--images", root], ENV);
    t.is(stale.code, 0, stale.stderr);
    t.regex(stale.stdout, /removed 0 temporary container\(s\), 2 stale build-step image tag\(s\) of fullnode\/cleana/);
    t.deepEqual(
      await stepTags("cleana"),
      a2.filter((x) => !a1.includes(x)),
      "the current keys stay",
    );
    const rebuilt = await runCli(["build", "fullnode/cleana", "--images", root], ENV);
    t.regex(rebuilt.stdout, /^steps +0 of 2 ran/m, "the next build is still cached");
    t.deepEqual(await stepTags("cleanb"), b1, "another image's step images are untouched");

    // A container (another build, say) uses one of cleanb's step images.
    const busy = await docker(["run", "-d", "--rm", "--entrypoint", "sleep", b1[b1.length - 1], "60"]);
    try {
      const r = await runCli(["clean", "fullnode/cleanb", "--images", root], ENV);
      t.is(r.code, 0, `never an error: ${r.stderr}`);
      t.regex(
        r.stdout,
        new RegExp(`kept 1 in use by a running container \\(another build\\?\\): ${b1[b1.length - 1].replace(/[/.]/g, "\\$&")}`),
      );
      t.deepEqual(await stepTags("cleanb"), [b1[b1.length - 1]]);
    } finally {
      await dockerMaybe(["rm", "-f", busy]);
    }
    await removeTestImages("fullnode/cleana");
    await removeTestImages("fullnode/cleanb");
  },
);

dockerTest("clean removes build-step images and stopped temporaries but never run images", async (t) => {
  const runImage = await docker(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-fixnode:latest"]);
  const created = await docker(["create", "--label", "cybernode.temp=1", runImage]);
  const volume = await anonymousVolumeOf(created);
  const r = await runCli(["clean"], ENV);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /removed 1 temporary container\(s\), \d+ build-step image tag\(s\)/);
  t.is(await docker(["image", "ls", "-q", "--filter", "reference=cybernode-step/*"]), "");
  t.is(await docker(["image", "inspect", "--format", "{{.Id}}", "cybernode/fullnode-fixnode:latest"]), runImage);
  // The stopped temporary is gone; a build running elsewhere on the engine keeps its own.
  t.is(await docker(["ps", "-a", "-q", "--no-trunc", "--filter", `id=${created}`]), "");
  t.is(await volumeExists(volume), false, "its anonymous /cyberdata volume went with it");
});

/** The anonymous volume Docker made for the image's VOLUME /cyberdata when the container was created. */
async function anonymousVolumeOf(container: string): Promise<string> {
  const name = await docker([
    "inspect",
    "--format",
    '{{range .Mounts}}{{if eq .Destination "/cyberdata"}}{{.Name}}{{end}}{{end}}',
    container,
  ]);
  if (!/^[0-9a-f]{64}$/.test(name)) throw new Error(`${container} has no anonymous /cyberdata volume: '${name}'`);
  return name;
}

const volumeExists = async (name: string) => (await dockerMaybe(["volume", "inspect", name])) !== null;

dockerTest("temporary containers (inspect, extraction) take their anonymous volumes with them", async (t) => {
  // A run image declares VOLUME /cyberdata, so every container created from it gets an anonymous volume.
  let volume = "";
  await withTemporary("inspect", async ({ name, createArgs }) => {
    await docker(["create", ...createArgs, "cybernode/fullnode-fixnode:latest", "/none"]);
    volume = await anonymousVolumeOf(name);
    t.true(await volumeExists(volume));
  });
  t.is(await volumeExists(volume), false, `volume ${volume} is left behind`);
});
