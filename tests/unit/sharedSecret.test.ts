import test from "ava";
import { writeTar } from "../../src/archive/tarWriter";
import {
  type SharedSecretOutputs,
  sharedSecretDiff,
  sharedSecretDir,
  sharedSecretEntries,
  tarFileStamp,
} from "../../src/common/sharedSecret";
import { type SharedSecretHost, sharedSecretOps } from "../../src/provider/sharedSecretOps";
import { UNKNOWN } from "../../src/provider/storedInputs";

// A stack's shared secret on a Docker host: where it lives, what is written, and what a preview
// concludes from what the host has. The engine's side runs in tests/deploy/eth-pair.test.ts.

const olds: SharedSecretOutputs = {
  host: "unix:///var/run/docker.sock",
  dir: "/home/cyber/cyberdata/.secrets/engine-jwt",
  file: "jwt.hex",
  template: "${random}",
  uid: 1000,
  selinux: false,
  image: "sha256:old",
  stamp: "1796428088:64",
};

test("the folder sits beside the nodes' data folders, private to the uid; the file is 0600", (t) => {
  t.is(sharedSecretDir("/home/cyber/cyberdata", "engine-jwt"), "/home/cyber/cyberdata/.secrets/engine-jwt");
  t.is(sharedSecretDir("/", "x"), "/.secrets/x");
  const [dir, file] = sharedSecretEntries("home/cyber/cyberdata/.secrets/engine-jwt", 1000, "jwt.hex", "ab");
  t.like(dir, { type: "dir", mode: 0o700, uid: 1000, gid: 1000 });
  t.like(file, { type: "file", path: "home/cyber/cyberdata/.secrets/engine-jwt/jwt.hex", mode: 0o600, uid: 1000, gid: 1000 });
});

test("the stamp is the file's mtime and size from the tar docker cp prints; nothing of the value", (t) => {
  const tar = writeTar(
    [{ type: "file", path: "jwt.hex", mode: 0o600, uid: 1, gid: 1, data: Buffer.from("f".repeat(64)) }],
    new Date(1_700_000_000_000),
  );
  t.is(tarFileStamp(tar), "1700000000:64");
  t.is(tarFileStamp(Buffer.alloc(1024)), null, "an empty archive has no file");
  t.is(tarFileStamp(Buffer.alloc(0)), null);
  const pax = "30 mtime=1700000001.123456789\n";
  const header = Buffer.alloc(512);
  header.write("PaxHeaders/jwt.hex", 0, "latin1");
  header.write(`${pax.length.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  header.write("x", 156, "latin1");
  const body = Buffer.alloc(512);
  body.write(pax, 0, "latin1");
  t.is(tarFileStamp(Buffer.concat([header, body, tar])), "1700000001.123456789:64", "a PAX mtime wins");
});

test("a preview: unchanged while the file is as made; made again when deleted; followed when replaced by hand", (t) => {
  const news = { ...olds, image: "sha256:new" };
  t.deepEqual(sharedSecretDiff(olds, news, olds.stamp), { changes: false, replaces: [] }, "the run image is not part of the diff");
  t.deepEqual(sharedSecretDiff(olds, news, null), { changes: true, replaces: ["file"] }, "deleted on the host: a new secret");
  t.deepEqual(sharedSecretDiff(olds, news, "1796429999:64"), { changes: true, replaces: [] }, "replaced by hand: the nodes follow");
  t.deepEqual(sharedSecretDiff(olds, news, "unknown"), { changes: false, replaces: [] }, "the host could not be asked");
  t.deepEqual(sharedSecretDiff(olds, { ...news, template: "x${random}" }, olds.stamp).replaces, ["template"]);
  t.deepEqual(sharedSecretDiff(olds, { ...news, uid: 1001 }, olds.stamp).replaces, ["uid"]);
  t.deepEqual(sharedSecretDiff(olds, { ...news, dir: "/d/.secrets/x" }, null).replaces, ["dir", "file"]);
});

/** A host whose file is `file` (null: absent); counts writes; `down` makes every call throw. */
function fakeHost(state: { file: string | null; down?: boolean; writes?: number }): SharedSecretHost {
  let n = 0;
  return {
    async stamp() {
      if (state.down) throw new Error("engine unreachable");
      return state.file;
    },
    async write() {
      if (state.down) throw new Error("engine unreachable");
      state.writes = (state.writes ?? 0) + 1;
      state.file = `1796430000:${64 + state.writes}`;
      return state.file;
    },
    generation: () => `gen-${++n}`,
  };
}

test("the provider's decisions under a fake host: diff, create, update, read, delete", async (t) => {
  const host = { file: olds.stamp as string | null } as { file: string | null; down?: boolean; writes?: number };
  const ops = sharedSecretOps(fakeHost(host));
  const news = { ...olds, image: "sha256:new" };
  t.deepEqual(await ops.diff?.("id", olds, news), { changes: false, replaces: [], deleteBeforeReplace: false });
  host.file = null;
  t.deepEqual((await ops.diff?.("id", olds, news))?.replaces, ["file"], "deleted on the host");
  host.file = "1796439999:64";
  t.like(await ops.diff?.("id", olds, news), { changes: true, replaces: [] }, "replaced by hand");
  host.down = true;
  t.like(await ops.diff?.("id", olds, news), { changes: false }, "an engine that does not answer changes nothing");
  t.like(
    await ops.diff?.("id", olds, { ...news, image: UNKNOWN }),
    { changes: false },
    "a preview that rebuilds the image asks with the old one",
  );
  host.down = false;

  host.file = null;
  const made = await ops.create(news);
  t.is(host.writes, 1);
  t.like(made.outs, { stamp: "1796430000:65", generation: "gen-1" });
  t.deepEqual(
    Object.keys(made.outs ?? {}).sort(),
    [...new Set([...Object.keys(news), "stamp", "generation"])].sort(),
    "state holds the inputs (the template, not a value), the stamp and the generation",
  );

  host.file = "1796439999:64";
  const updated = await ops.update?.("id", made.outs as SharedSecretOutputs, news);
  t.is(host.writes, 1, "a file replaced by hand is kept");
  t.like(updated?.outs, { stamp: "1796439999:64", generation: "gen-2" }, "and the nodes get a new generation");

  t.deepEqual(await ops.read?.("id", olds), { id: "id", props: olds }, "there: kept as it was");
  host.file = null;
  t.deepEqual(await ops.read?.("id", olds), {}, "gone: refresh drops it");
  await ops.delete?.("id", olds);
  t.is(host.writes, 1, "delete leaves the host alone");

  host.down = true;
  const e = await t.throwsAsync(ops.create({ ...news, stackFile: "stacks/Pulumi.eth.yaml", name: "engine-jwt" }));
  t.regex(
    String(e?.message),
    /^stacks\/Pulumi\.eth\.yaml: cybernode:sharedSecrets\.engine-jwt: cannot make .*engine unreachable.*no node was started/,
  );
  const noImage = await t.throwsAsync(ops.create({ ...news, image: UNKNOWN }));
  t.regex(String(noImage?.message), /no image to make/);
});
