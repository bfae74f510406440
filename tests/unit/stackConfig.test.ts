import test from "ava";
import { InputError } from "../../src/imageSpec/errors";
import { validateSpec } from "../../src/imageSpec/validate";
import { declaresPluginWork, parsePortMapping, validateStackConfig, type StackContext } from "../../src/stack/config";
import { goodSpec } from "../helpers/specs";
import { imagesDirsFromConfig, loadCatalogue } from "../../src/stack/catalogue";
import { join } from "node:path";

const ctx = (over: Partial<StackContext> = {}): StackContext => ({
  stack: "test",
  stackFile: "stacks/Pulumi.test.yaml",
  specs: new Map([
    ["fullnode/node", validateSpec("fullnode/node", goodSpec())],
    ["fullnode/passer", validateSpec("fullnode/passer", { ...goodSpec(), build: { ...goodSpec().build, passEnv: ["GOPROXY"] } })],
  ]),
  cyberUid: 1000,
  secretKeys: new Set(["rpcpass"]),
  ...over,
});
const good = () => ({ uid: "1000", nodes: JSON.stringify({ node: { image: "fullnode/node" } }) });

test("defaults: local socket, cyber's uid, /home/cyber/cyberdata, spec's container defaults", (t) => {
  const p = validateStackConfig({ nodes: { node: { image: "fullnode/node" } } }, ctx());
  t.is(p.host, "unix:///var/run/docker.sock");
  t.is(p.uid, 1000);
  t.is(p.dataRoot, "/home/cyber/cyberdata");
  t.is(p.buildOn, "local");
  t.deepEqual(p.nodes[0].ports, [
    { port: 8333, hostPort: 8333, bind: "0.0.0.0", protocol: "tcp" },
    { port: 8334, hostPort: 8334, bind: "127.0.0.1", protocol: "tcp" },
  ]);
  t.is(p.nodes[0].restart, "always");
});

test("secret references in args are collected", (t) => {
  const p = validateStackConfig(
    { rpcpass: "x", nodes: { node: { image: "fullnode/node", args: ["--rpcpass=${secret:rpcpass}"] } } },
    ctx(),
  );
  t.deepEqual(p.nodes[0].secrets, ["rpcpass"]);
});

test("port mappings parse like docker run -p", (t) => {
  t.deepEqual(parsePortMapping("127.0.0.1:8334:18334/udp"), { port: 18334, hostPort: 8334, bind: "127.0.0.1", protocol: "udp" });
  t.deepEqual(parsePortMapping("8333"), { port: 8333, hostPort: 8333, bind: "0.0.0.0", protocol: "tcp" });
});

const BAD: [string, Record<string, unknown>, Partial<StackContext>, string][] = [
  ["unknown image spec in nodes", { nodes: { x: { image: "fullnode/nope" } } }, {}, "cybernode:nodes.x.image"],
  [
    "two nodes with the same host port",
    { nodes: { a: { image: "fullnode/node" }, b: { image: "fullnode/node", ports: ["8333:1"] } } },
    {},
    "cybernode:nodes.b.ports",
  ],
  ["node name invalid", { nodes: { "my node": { image: "fullnode/node" } } }, {}, "cybernode:nodes.my node"],
  ["uid negative", { ...good(), uid: "-1" }, {}, "cybernode:uid"],
  ["uid not a number", { ...good(), uid: "cyber" }, {}, "cybernode:uid"],
  ["uid unset and no cyber user", { nodes: good().nodes }, { cyberUid: null }, "cybernode:uid"],
  ["relative dataRoot", { ...good(), dataRoot: "cyberdata" }, {}, "cybernode:dataRoot"],
  ["empty dataRoot", { ...good(), dataRoot: "" }, {}, "cybernode:dataRoot"],
  ["restart policy unknown", { nodes: { node: { image: "fullnode/node", restart: "sometimes" } } }, {}, "cybernode:nodes.node.restart"],
  ["port mapping malformed", { nodes: { node: { image: "fullnode/node", ports: ["83:33:33:33"] } } }, {}, "cybernode:nodes.node.ports[0]"],
  ["port out of range", { nodes: { node: { image: "fullnode/node", ports: ["99999"] } } }, {}, "cybernode:nodes.node.ports[0]"],
  ["host URL with unsupported scheme", { ...good(), host: "http://node1:2375" }, {}, "cybernode:host"],
  ["buildOn neither local nor host", { ...good(), buildOn: "cloud" }, {}, "cybernode:buildOn"],
  [
    "secret given in plain text",
    { plainpass: "hunter2", nodes: { node: { image: "fullnode/node", args: ["--rpcpass=${secret:plainpass}"] } } },
    {},
    "cybernode:plainpass",
  ],
  [
    "secret referenced but not set",
    { nodes: { node: { image: "fullnode/node", args: ["--rpcpass=${secret:rpcpass}"] } } },
    {},
    "cybernode:nodes.node.args",
  ],
  ["selinux not a boolean", { ...good(), selinux: "yes" }, {}, "cybernode:selinux"],
  ["nodes not a map", { nodes: "[1,2]" }, {}, "cybernode:nodes"],
  ["unknown node field", { nodes: { node: { image: "fullnode/node", volumes: [] } } }, {}, "cybernode:nodes.node.volumes"],
  ["env key invalid", { nodes: { node: { image: "fullnode/node", env: { "A=B": "1" } } } }, {}, "cybernode:nodes.node.env.A=B"],
  ["unknown key (a typo)", { ...good(), dataRot: "/srv/data" }, {}, "cybernode:dataRot"],
  [
    "readOnlyRoot not a boolean",
    { nodes: { node: { image: "fullnode/node", readOnlyRoot: "no" } } },
    {},
    "cybernode:nodes.node.readOnlyRoot",
  ],
  ["capAdd not capability names", { nodes: { node: { image: "fullnode/node", capAdd: ["net bind"] } } }, {}, "cybernode:nodes.node.capAdd"],
  ["tmpSize malformed", { nodes: { node: { image: "fullnode/node", tmpSize: "lots" } } }, {}, "cybernode:nodes.node.tmpSize"],
  [
    "label in the reserved namespace",
    { nodes: { node: { image: "fullnode/node", labels: { "cybernode.node": "x" } } } },
    {},
    "cybernode:nodes.node.labels.cybernode.node",
  ],
  ["promoteFrom pointing at itself", { ...good(), promoteFrom: "test" }, {}, "cybernode:promoteFrom"],
  ["promoteFrom not a stack name", { ...good(), promoteFrom: "../staging" }, {}, "cybernode:promoteFrom"],
  ["registry URL malformed (scheme)", { ...good(), registry: "https://registry.example.com" }, {}, "cybernode:registry"],
  ["registry URL malformed (spaces)", { ...good(), registry: "my registry:5000" }, {}, "cybernode:registry"],
  ["images not a list", { images: "fullnode/node" }, {}, "cybernode:images"],
  ["images naming an unknown spec", { images: ["fullnode/nope"] }, {}, "cybernode:images[0]"],
  ["images listing one twice", { images: ["fullnode/node", "fullnode/node"] }, {}, "cybernode:images[1]"],
  ["buildEnv not a map", { images: ["fullnode/node"], buildEnv: "GOPROXY=x" }, {}, "cybernode:buildEnv"],
  [
    "buildEnv for a variable no image passes through",
    { images: ["fullnode/node"], buildEnv: { GOPRXY: "https://p" } },
    {},
    "cybernode:buildEnv.GOPRXY",
  ],
  ["buildEnv value not a string", { images: ["fullnode/passer"], buildEnv: { GOPROXY: 1 } }, {}, "cybernode:buildEnv.GOPROXY"],
  ["buildEnv value with a NUL byte", { images: ["fullnode/passer"], buildEnv: { GOPROXY: "a\0b" } }, {}, "cybernode:buildEnv.GOPROXY"],
  ["node stopGrace negative", { nodes: { node: { image: "fullnode/node", stopGrace: -1 } } }, {}, "cybernode:nodes.node.stopGrace"],
  ["node stopGrace absurd", { nodes: { node: { image: "fullnode/node", stopGrace: 86400 } } }, {}, "cybernode:nodes.node.stopGrace"],
  ["node stopGrace a string", { nodes: { node: { image: "fullnode/node", stopGrace: "5m" } } }, {}, "cybernode:nodes.node.stopGrace"],
  ["node stopSignal unknown", { nodes: { node: { image: "fullnode/node", stopSignal: "SIGFOO" } } }, {}, "cybernode:nodes.node.stopSignal"],
  [
    "node health command relative",
    { nodes: { node: { image: "fullnode/node", health: { command: ["node-cli", "ping"] } } } },
    {},
    "cybernode:nodes.node.health.command",
  ],
  ["node health not an object", { nodes: { node: { image: "fullnode/node", health: "on" } } }, {}, "cybernode:nodes.node.health"],
  [
    "node health without command and no image check",
    { nodes: { node: { image: "fullnode/node", health: { interval: 10 } } } },
    {},
    "cybernode:nodes.node.health.command",
  ],
  [
    "node status command on an image without RPC status",
    { nodes: { node: { image: "fullnode/node", status: ["/cyberapp/node", "height"] } } },
    {},
    "cybernode:nodes.node.status",
  ],
  ["node memory without unit", { nodes: { node: { image: "fullnode/node", memory: 512 } } }, {}, "cybernode:nodes.node.memory"],
  ["node memory absurd", { nodes: { node: { image: "fullnode/node", memory: "9000g" } } }, {}, "cybernode:nodes.node.memory"],
  ["node memory below Docker's minimum", { nodes: { node: { image: "fullnode/node", memory: "1m" } } }, {}, "cybernode:nodes.node.memory"],
  ["node cpus zero", { nodes: { node: { image: "fullnode/node", cpus: 0 } } }, {}, "cybernode:nodes.node.cpus"],
  ["node cpus negative", { nodes: { node: { image: "fullnode/node", cpus: "-1" } } }, {}, "cybernode:nodes.node.cpus"],
  [
    "node logs maxSize tiny",
    { nodes: { node: { image: "fullnode/node", logs: { maxSize: "1k" } } } },
    {},
    "cybernode:nodes.node.logs.maxSize",
  ],
  [
    "node logs maxFiles zero",
    { nodes: { node: { image: "fullnode/node", logs: { maxFiles: 0 } } } },
    {},
    "cybernode:nodes.node.logs.maxFiles",
  ],
  [
    "node logs unknown field",
    { nodes: { node: { image: "fullnode/node", logs: { driver: "syslog" } } } },
    {},
    "cybernode:nodes.node.logs.driver",
  ],
  ["enabled not a boolean", { nodes: { node: { image: "fullnode/node", enabled: "no" } } }, {}, "cybernode:nodes.node.enabled"],
];

for (const [what, raw, over, key] of BAD) {
  test(`stack config rejects: ${what}`, (t) => {
    const err = t.throws(() => validateStackConfig(raw, ctx(over)), { instanceOf: InputError });
    t.true(err!.message.startsWith("stack file stacks/Pulumi.test.yaml:"), err!.message);
    t.true(err!.message.includes(`${key}:`), `expected ${key} in ${err!.message}`);
  });
}

test("images-only stack: no nodes, no uid needed, images built; buildEnv kept for what the images pass through", (t) => {
  const p = validateStackConfig(
    { images: '["fullnode/passer"]', buildEnv: '{"GOPROXY":"https://u:t@proxy.example"}' },
    ctx({ cyberUid: null }),
  );
  t.deepEqual(p.nodes, []);
  t.deepEqual(p.images, ["fullnode/passer"]);
  t.deepEqual(p.buildEnv, { GOPROXY: "https://u:t@proxy.example" });
  const both = validateStackConfig({ images: ["fullnode/passer"], nodes: { node: { image: "fullnode/node" } } }, ctx());
  t.deepEqual(both.images, ["fullnode/node", "fullnode/passer"], "node images and listed images, once each");
});

test("a disabled node is not deployed and needs no valid image", (t) => {
  const p = validateStackConfig({ uid: "1000", nodes: { a: { image: "fullnode/node" }, b: { image: "nope", enabled: false } } }, ctx());
  t.deepEqual(
    p.nodes.map((n) => n.name),
    ["a"],
  );
});

test("a typo'd key suggests the known one", (t) => {
  const err = t.throws(() => validateStackConfig({ ...good(), dataRot: "/srv" }, ctx()), { instanceOf: InputError });
  t.regex(err!.message, /did you mean cybernode:dataRoot/);
});

test("imagesDirs: a list of folders inside the project", (t) => {
  t.deepEqual(imagesDirsFromConfig(undefined, "f"), ["images"]);
  t.deepEqual(imagesDirsFromConfig('["images","tests/fixtures/images"]', "f"), ["images", "tests/fixtures/images"]);
  t.deepEqual(imagesDirsFromConfig("images", "f"), ["images"]);
  t.throws(() => imagesDirsFromConfig("[]", "stacks/Pulumi.x.yaml"), {
    instanceOf: InputError,
    message: /stack file stacks\/Pulumi\.x\.yaml: cybernode:imagesDirs/,
  });
  t.throws(() => imagesDirsFromConfig('["../elsewhere"]', "f"), { instanceOf: InputError });
  t.throws(() => loadCatalogue(join(__dirname, "../.."), ["no-such-folder"], "f"), { instanceOf: InputError, message: /does not exist/ });
});

test("hardening is on by default and can be relaxed per node", (t) => {
  const p = validateStackConfig(
    {
      uid: "1000",
      nodes: {
        a: { image: "fullnode/node" },
        b: { image: "fullnode/node", ports: ["1:1"], readOnlyRoot: false, capAdd: ["CAP_NET_BIND_SERVICE"] },
      },
    },
    ctx(),
  );
  t.deepEqual(p.nodes[0].security, { readOnlyRoot: true, noNewPrivileges: true, capDrop: ["ALL"], capAdd: [], tmpSize: "64m" });
  t.false(p.nodes[1].security.readOnlyRoot);
  t.deepEqual(p.nodes[1].security.capAdd, ["NET_BIND_SERVICE"]);
});

test("declaresPluginWork: images or nodes, as objects or as the JSON strings Pulumi hands the program", (t) => {
  t.true(declaresPluginWork({ images: ["fullnode/btcd"] }));
  t.true(declaresPluginWork({ images: '["fullnode/btcd"]' }));
  t.true(declaresPluginWork({ nodes: '{"btcd":{"image":"fullnode/btcd"}}' }));
  t.true(declaresPluginWork({ nodes: { btcd: { image: "fullnode/btcd" } } }));
  t.true(declaresPluginWork({ images: "not json" }), "a malformed value counts: the validator reports it");
  t.false(declaresPluginWork({}));
  t.false(declaresPluginWork({ images: "[]", nodes: "{}" }));
  t.false(declaresPluginWork({ images: [], nodes: {}, host: "unix:///var/run/docker.sock" }));
});
