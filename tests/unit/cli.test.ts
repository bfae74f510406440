import test from "ava";
import { localSocket } from "../../src/docker/engineApi";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, UsageError } from "../../src/cli/args";
import { formatHealth, formatListing, formatStop } from "../../src/cli/inspect";
import { dataRootCheck, passwdUid } from "../../src/cli/doctor";
import { runCli } from "../helpers/cli";
import { HOST_TAG, parseTemporaryName, temporaryName } from "../../src/docker/temporaries";

const FIXTURES = join(__dirname, "../fixtures/images");

test("argument parsing: positionals, flags and options", (t) => {
  const a = parseArgs(["build", "fullnode/btcd", "--json", "--images=dir"]);
  t.deepEqual(a.positional, ["build", "fullnode/btcd"]);
  t.true(a.flags.has("json"));
  t.is(a.options.get("images"), "dir");
  t.is(parseArgs(["--images", "x"]).options.get("images"), "x");
  t.throws(() => parseArgs(["--images"]), { instanceOf: UsageError });
  t.throws(() => parseArgs(["-x"]), { instanceOf: UsageError });
});

test("--help exits 0 for the CLI and for each command", async (t) => {
  for (const args of [
    ["--help"],
    ["build", "--help"],
    ["images", "--help"],
    ["inspect", "--help"],
    ["doctor", "--help"],
    ["clean", "--help"],
  ]) {
    const r = await runCli(args);
    t.is(r.code, 0, args.join(" "));
    t.regex(r.stdout, /Usage: npx cybernode/);
  }
});

test("usage errors exit 2", async (t) => {
  t.is((await runCli([])).code, 2);
  t.is((await runCli(["frobnicate"])).code, 2);
  t.is((await runCli(["build"])).code, 2);
  t.is((await runCli(["build", "a/b", "--nope"])).code, 2);
});

test("an unknown image is a failure naming the known images", async (t) => {
  const r = await runCli(["build", "fullnode/nope", "--images", FIXTURES]);
  t.is(r.code, 1);
  t.regex(r.stderr, /image fullnode\/nope: unknown image/);
  t.regex(r.stderr, /fullnode\/fixnode/);
});

test("images lists the specs", async (t) => {
  const r = await runCli(["images", "--images", FIXTURES]);
  t.is(r.code, 0);
  t.regex(r.stdout, /^fullnode\/fixnode\s+fixnode\s+fixture fullnode/m);
});

test("images lists every spec when one cannot be loaded, names that one's error and exits 1", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "cybernode-images-"));
  cpSync(FIXTURES, root, { recursive: true, filter: (s) => !s.includes("/bin") });
  const spec = join(root, "fullnode/fixnode.ts");
  writeFileSync(join(root, "fullnode/broken.ts"), readFileSync(spec, "utf8").replace("../../../../src/imageSpec/define", "./define"));
  writeFileSync(
    spec,
    readFileSync(spec, "utf8").replace("../../../../src/imageSpec/define", join(__dirname, "../../src/imageSpec/define")),
  );
  const r = await runCli(["images", "--images", root]);
  t.is(r.code, 1);
  t.regex(r.stdout, /^fullnode\/broken\s+\(cannot be loaded: the error is on stderr\)$/m);
  t.regex(r.stdout, /^fullnode\/fixnode\s+fixnode\s+fixture fullnode/m, "the others are listed");
  t.regex(r.stderr, /image fullnode\/broken: .*broken\.ts could not be loaded: Cannot find module '\.\/define'/);
  t.notRegex(r.stderr, /\n\s+at /, "no stack trace");
  rmSync(root, { recursive: true, force: true });
});

test("Docker not reachable: exit 1 and says how to start it or set DOCKER_HOST", async (t) => {
  const r = await runCli(["build", "fullnode/fixnode", "--images", FIXTURES], { DOCKER_HOST: "unix:///tmp/cybernode-no-such.sock" });
  t.is(r.code, 1);
  t.regex(r.stderr, /The container engine is not reachable through DOCKER_HOST=unix:\/\/\/tmp\/cybernode-no-such\.sock/);
  t.regex(r.stderr, /Start the daemon/);
});

test("listing lines look like tar -tv --numeric-owner", (t) => {
  t.is(
    formatListing({ path: "cyberdata/", mode: 0o755, uid: 1000, gid: 1000, size: 0, mtime: new Date(0), type: "Directory" }),
    "drwxr-xr-x 1000/1000         0 1970-01-01 00:00 cyberdata/",
  );
  t.is(formatListing({ path: "su", mode: 0o4755, uid: 0, gid: 0, size: 5, mtime: new Date(0), type: "File" }).slice(0, 10), "-rwsr-xr-x");
});

test("doctor helpers: passwd lookup; the data root needs no one's rights, only a writable disk and no file in the way", (t) => {
  t.is(passwdUid("root:x:0:0::/root:/bin/sh\ncyber:x:1001:1001::/home/cyber:/bin/bash\n", "cyber"), 1001);
  t.is(passwdUid("root:x:0:0::/root:/bin/sh\n", "cyber"), null);
  const root = "/home/cyber/cyberdata";
  t.like(dataRootCheck(root, { path: root, kind: "dir", writable: "EACCES" }, 1001), { ok: true });
  t.regex(
    dataRootCheck(root, { path: "/home/cyber", kind: "dir", writable: "EACCES" }, 1001).detail,
    /does not exist yet: pulumi up makes each node's folder in it through the engine, owned by uid 1001 \(no sudo needed\)/,
  );
  t.like(dataRootCheck(root, { path: root, kind: "file", writable: "ok" }, 1001), { ok: false });
  t.like(dataRootCheck(root, { path: "/home", kind: "dir", writable: "EROFS" }, 1001), {
    ok: false,
    detail: "/home is on a read-only file system: choose a data root on a writable disk",
  });
});

test("temporary container names carry purpose, pid and machine, and parse back", (t) => {
  const name = temporaryName("step");
  t.regex(name, new RegExp(`^cybernode-tmp-step-${process.pid}-${HOST_TAG}-[a-z0-9]+$`));
  t.deepEqual(parseTemporaryName(name), { pid: process.pid, host: HOST_TAG });
  t.is(parseTemporaryName("btcd"), null);
  t.is(parseTemporaryName("cybernode-tmp-step-12-x"), null, "old names without a machine are not touched");
});

test("image lookups use the Engine API only where the docker CLI would use that unix socket", (t) => {
  const none = { DOCKER_CONFIG: "/nonexistent" };
  t.is(localSocket("unix:///run/podman/podman.sock", none), "/run/podman/podman.sock");
  t.is(localSocket("ssh://cyber@node1", none), null);
  t.is(localSocket("tcp://10.0.0.5:2376", none), null);
  t.is(localSocket("", { ...none, DOCKER_HOST: "ssh://cyber@node1" }), null, "DOCKER_HOST decides when the stack names no host");
  t.is(localSocket("", { ...none, DOCKER_CONTEXT: "remote" }), null, "a docker context: leave it to the CLI");
});

test("inspect shows the health check and how a node of the image is stopped", (t) => {
  t.is(
    formatHealth({ Test: ["CMD", "/cyberapp/btcctl", "getblockcount"], Interval: 60e9, Timeout: 10e9, Retries: 3, StartPeriod: 600e9 }),
    '["/cyberapp/btcctl","getblockcount"] every 60s, timeout 10s, 3 retries, start period 600s',
  );
  t.is(formatHealth(undefined), "none");
  t.is(formatHealth({ Test: ["NONE"] }), "none");
  t.is(
    formatStop(undefined, { stopSignal: "SIGTERM", stopGrace: 300 }),
    "SIGTERM, then 300 s before SIGKILL (the spec's container.stopSignal/stopGrace; a stack's node may change them)",
  );
  t.is(formatStop("SIGINT", null), "SIGINT (the image's; the grace is set per container)");
});
