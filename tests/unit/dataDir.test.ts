import test from "ava";
import { secretFilesOps } from "../../src/provider/secretFilesOps";
import { dataDirEntries, fillTemplate, mountCandidates } from "../../src/common/dataDir";
import { dataDirOps } from "../../src/provider/dataDirOps";

// How the engine makes a node's data folder: what it mounts, and the archive it extracts with owners kept.

test("the data root is mounted if it exists, else the nearest parent, down to /", (t) => {
  t.deepEqual(mountCandidates("/home/cyber/cyberdata", "btcd"), [
    { source: "/home/cyber/cyberdata", below: "btcd" },
    { source: "/home/cyber", below: "cyberdata/btcd" },
    { source: "/home", below: "cyber/cyberdata/btcd" },
    { source: "/", below: "home/cyber/cyberdata/btcd" },
  ]);
  t.deepEqual(mountCandidates("/", "btcd"), [{ source: "/", below: "btcd" }]);
});

test("the archive hands the folder to the uid (0755) and adds only the missing secret files (0600, the uid's)", (t) => {
  const entries = dataDirEntries("btcd", 1001, [["rpc.conf", "rpcpass=x\n"]]);
  t.deepEqual(
    entries.map((e) => [e.type, e.path, e.mode.toString(8), e.uid, e.gid]),
    [
      ["dir", "btcd", "755", 1001, 1001],
      ["file", "btcd/rpc.conf", "600", 1001, 1001],
    ],
  );
  const file = entries[1];
  t.is(file.type === "file" ? Buffer.from(file.data).toString() : "", "rpcpass=x\n");
  t.deepEqual(
    dataDirEntries("cyberdata/btcd", 1001, []).map((e) => e.path),
    ["cyberdata/btcd"],
    "existing files are not in it; parents are the engine's (root, 0755)",
  );
});

test("each ${random} of a secret file's template gets its own value", (t) => {
  let n = 0;
  const next = () => `R${++n}`;
  t.is(fillTemplate("user=cybernode\npass=${random}\nkey=${random}\n", next), "user=cybernode\npass=R1\nkey=R2\n");
  t.is(fillTemplate("no placeholder", next), "no placeholder");
  t.is(fillTemplate("${random}", next), "R3");
});

const dir = {
  path: "/d/btcd",
  uid: 1000,
  selinux: false,
  host: "",
  secretFiles: [["rpc.conf", "p=${random}"]] as [string, string][],
  image: "sha256:a",
};

test("DataDir create and update make the folder through the host with the node's image; the id names host and path", async (t) => {
  const made: unknown[] = [];
  const ops = dataDirOps(async (i) => void made.push(i));
  const created = await ops.create(dir);
  t.is(created.id, "#/d/btcd");
  t.deepEqual(created.outs, dir);
  await ops.update?.("id", dir, { ...dir, uid: 1001 });
  t.deepEqual(made, [dir, { ...dir, uid: 1001 }]);
});

test("DataDir: a folder the host cannot make fails naming the stack keys, the engine's reason and the command to make it by hand", async (t) => {
  const ops = dataDirOps(async () => {
    throw new Error("permission denied");
  });
  const e = await t.throwsAsync(ops.create({ ...dir, stackFile: "stacks/Pulumi.local.yaml" }));
  t.regex(
    e?.message ?? "",
    /^stacks\/Pulumi\.local\.yaml: cybernode:dataRoot \/ cybernode:uid: data folder \/d\/btcd on this machine for uid 1000: permission denied\./,
  );
  t.regex(e?.message ?? "", /sudo install -d -o 1000 -g 1000 \/d\/btcd/);
  t.regex(e?.message ?? "", /The node was not started/);
  const noImage = await t.throwsAsync(dataDirOps(async () => {}).create({ ...dir, image: undefined }));
  t.regex(noImage?.message ?? "", /no image to make it with/);
});

test("DataDir delete leaves the folder: chain data survives destroy", async (t) => {
  let touched = false;
  const ops = dataDirOps(async () => {
    touched = true;
  });
  await ops.delete?.("id", dir);
  t.false(touched);
});

test("SecretFiles (Kubernetes) fills every ${random} with its own value, once; another template replaces the Secret", async (t) => {
  let n = 0;
  const ops = secretFilesOps(() => `v${++n}`);
  const { outs } = await ops.create({
    templates: [
      ["rpc.conf", "user=${random}\npass=${random}\n"],
      ["key", "${random}"],
    ],
  });
  t.deepEqual(outs.files, { "rpc.conf": "user=v1\npass=v2\n", key: "v3" });
  const same = { templates: [["key", "${random}"]] };
  t.deepEqual(await ops.diff?.("id", same, same), { changes: false, replaces: [] });
  t.deepEqual(await ops.diff?.("id", same, { templates: [["key", "k=${random}"]] }), { changes: true, replaces: ["templates"] });
});
