import test from "ava";
import {
  addressesClash,
  type HostCheckRequest,
  type HostFacts,
  hostCheckRequest,
  hostProblems,
  parseProcNet,
} from "../../src/stack/hostProblems";

// What pulumi preview reports about a host before anything changes: taken ports and data folders that
// cannot be made or handed over. The facts are given; each rule is one assertion that fails without it.

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:479D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:4871 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:208D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:208D 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 0000000000000000FFFF00000100007F:0035 00000000000000000000000000000000:0000 0A 00000000:00000000
`;
const UDP = `  sl  local_address rem_address   st
  10: 00000000:479D 00000000:0000 07 00000000:00000000
  11: 0100007F:0035 08080808:0035 01 00000000:00000000
`;

test("/proc/net tables: listening TCP and bound UDP sockets, IPv4, IPv6 wildcard and v4-mapped addresses", (t) => {
  t.deepEqual(parseProcNet(TCP, "tcp"), [
    { protocol: "tcp", address: "0.0.0.0", port: 18333 },
    { protocol: "tcp", address: "127.0.0.1", port: 18545 },
  ]);
  t.deepEqual(parseProcNet(TCP6, "tcp"), [
    { protocol: "tcp", address: "::", port: 8333 },
    { protocol: "tcp", address: "127.0.0.1", port: 53 },
  ]);
  t.deepEqual(parseProcNet(UDP, "udp"), [{ protocol: "udp", address: "0.0.0.0", port: 18333 }]);
  t.deepEqual(parseProcNet("", "tcp"), []);
});

test("bind addresses clash when equal or when either is a wildcard", (t) => {
  t.true(addressesClash("127.0.0.1", "127.0.0.1"));
  t.true(addressesClash("0.0.0.0", "127.0.0.1"));
  t.true(addressesClash("127.0.0.1", "::"));
  t.false(addressesClash("127.0.0.1", "127.0.0.2"));
});

const request = (ports: [string, number, "tcp" | "udp"][]): HostCheckRequest =>
  hostCheckRequest({
    host: "unix:///var/run/docker.sock",
    stack: "local",
    dataRoot: "/data",
    uid: 1000,
    nodes: [{ name: "btcd", ports: ports.map(([bind, hostPort, protocol]) => ({ bind, hostPort, protocol })) }],
  });
const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  local: true,
  listeners: [],
  published: [],
  dataRoot: { path: "/data", kind: "dir", uid: 0, mode: 0o40755, writable: "ok" },
  nodeDirs: [{ node: "btcd", dir: { path: "/data/btcd", kind: "dir", uid: 1000, mode: 0o40755, writable: "ok" } }],
  ...over,
});

test("a host port held by another process is refused naming the node's ports key; one the stack's own container holds is not", (t) => {
  const req = request([["0.0.0.0", 8333, "tcp"]]);
  const listening = [{ protocol: "tcp" as const, address: "::", port: 8333 }];
  const [p] = hostProblems(req, facts({ listeners: listening }));
  t.regex(p, /^cybernode:nodes\.btcd\.ports: host port 8333\/tcp on 0\.0\.0\.0 is taken by another process on this machine/);
  t.regex(p, /ss -lntup 'sport = :8333'/, "says how to find it");
  const own = [{ container: "btcd", stack: "local", ip: "0.0.0.0", port: 8333, protocol: "tcp" as const }];
  t.deepEqual(hostProblems(req, facts({ listeners: listening, published: own })), [], "the node's own running container");
  t.deepEqual(hostProblems(req, facts({ listeners: [{ protocol: "udp", address: "0.0.0.0", port: 8333 }] })), [], "another protocol");
  t.deepEqual(
    hostProblems(request([["127.0.0.1", 8333, "tcp"]]), facts({ listeners: [{ protocol: "tcp", address: "127.0.0.2", port: 8333 }] })),
    [],
  );
  t.deepEqual(hostProblems(req, facts({ listeners: listening, local: false })), [], "a remote host's sockets are not this machine's");
});

test("a host port another stack's container publishes is refused naming that container", (t) => {
  const theirs = [{ container: "btcd-staging", stack: "staging", ip: "127.0.0.1", port: 8334, protocol: "tcp" as const }];
  const [p] = hostProblems(request([["0.0.0.0", 8334, "tcp"]]), facts({ published: theirs }));
  t.regex(
    p,
    /^cybernode:nodes\.btcd\.ports: host port 8334\/tcp on 0\.0\.0\.0 is published by container btcd-staging of stack staging: stop it/,
  );
  const byHand = [{ container: "web", ip: "0.0.0.0", port: 8334, protocol: "tcp" as const }];
  t.regex(hostProblems(request([["0.0.0.0", 8334, "tcp"]]), facts({ published: byHand }))[0], /published by container web: stop it/);
});

test("data folders: a data root that is a file, a read-only file system, a file in the way; not this user's rights", (t) => {
  const req = request([]);
  t.deepEqual(hostProblems(req, facts()), [], "an existing folder owned by the uid");
  t.deepEqual(hostProblems(req, facts({ dataRoot: { path: "/data", kind: "file" } })), [
    "cybernode:dataRoot: /data is a file, not a folder: choose another data root or move the file away",
  ]);
  const missing = (ancestor: HostFacts["nodeDirs"][0]["ancestor"]) =>
    facts({ nodeDirs: [{ node: "btcd", dir: { path: "/data/btcd", kind: "missing" }, ancestor }] });
  t.regex(
    hostProblems(req, missing({ path: "/data", kind: "dir", writable: "EROFS" }))[0],
    /^cybernode:dataRoot: \/data\/btcd cannot be made: \/data is on a read-only file system/,
  );
  t.regex(hostProblems(req, missing({ path: "/data", kind: "file" }))[0], /\/data is a file, not a folder/);
  t.deepEqual(hostProblems(req, missing({ path: "/data", kind: "dir", writable: "ok" })), [], "made at up");
  t.deepEqual(
    hostProblems(req, missing({ path: "/", kind: "dir", writable: "EACCES" })),
    [],
    "the engine makes it as root: a parent this user cannot write is no problem",
  );
  const ro = facts({ nodeDirs: [{ node: "btcd", dir: { path: "/data/btcd", kind: "dir", uid: 1000, writable: "EROFS" } }] });
  t.regex(hostProblems(req, ro)[0], /\/data\/btcd is on a read-only file system/);
  const file = facts({ nodeDirs: [{ node: "btcd", dir: { path: "/data/btcd", kind: "file" } }] });
  t.regex(hostProblems(req, file)[0], /\/data\/btcd, node btcd's data folder, is a file/);
  const otherOwner = facts({ nodeDirs: [{ node: "btcd", dir: { path: "/data/btcd", kind: "dir", uid: 0, writable: "EACCES" } }] });
  t.deepEqual(hostProblems(req, otherOwner), [], "a folder of another uid is handed over by the engine at up");
});

test("the stack's network: its own is fine; another stack's or a hand-made one is refused, on remote hosts too", (t) => {
  const req = hostCheckRequest({ host: "ssh://cyber@node1", stack: "eth", dataRoot: "/d", uid: 1000, nodes: [], network: "cybernode-eth" });
  const facts = (labels?: Record<string, string>): HostFacts => ({
    local: false,
    listeners: [],
    published: [],
    nodeDirs: [],
    ...(labels ? { network: { name: "cybernode-eth", labels } } : {}),
  });
  t.deepEqual(hostProblems(req, facts()), [], "not there yet: up makes it");
  t.deepEqual(hostProblems(req, facts({ "cybernode.stack": "eth" })), [], "this stack's own");
  const [other] = hostProblems(req, facts({ "cybernode.stack": "staging" }));
  t.regex(
    other,
    /^cybernode:network: network cybernode-eth on this host belongs to stack staging: each stack needs its own; set another name \(pulumi config set --stack eth cybernode:network /,
  );
  const [manual] = hostProblems(req, facts({}));
  t.regex(manual, /was not made by a cybernode stack.*docker network rm cybernode-eth/);
  t.deepEqual(hostProblems({ ...req, network: "" }, facts({})), [], "a stack without a network (Kubernetes) asks nothing");
});
