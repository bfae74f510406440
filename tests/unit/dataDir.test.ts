import test from "ava";
import { dataDirEntries, fillTemplate, mountCandidates } from "../../src/plan/dataDir";

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
