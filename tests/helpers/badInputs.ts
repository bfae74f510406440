import { type StackContext, validateStackConfig } from "../../src/stack/config";
import { InputError } from "../../src/imageSpec/errors";
import { validateSpec } from "../../src/imageSpec/validate";
import { goodSpec, withChange } from "./specs";

// Malformed input, as people write it and as YAML hands it over (numbers for strings, objects for
// lists, null, unicode, stray spaces). Every case here is NOT in tests/unit/validate.test.ts or
// tests/unit/stackConfig.test.ts. tests/unit/badInputs.test.ts checks that each is refused with an
// InputError naming the field; tests/faults/bad-inputs.test.ts that no Docker command runs meanwhile.

export type Any = Record<string, unknown>;
export const set = (path: string, value: unknown) =>
  withChange((s) => {
    const keys = path.split(".");
    let o = s as unknown as Any;
    for (const k of keys.slice(0, -1)) o = o[k] as Any;
    o[keys[keys.length - 1]] = value;
  });

/** [what, image name, raw spec, field the error must name] */
export const SPECS: [string, string, unknown, string][] = [
  ["port as a huge string", "fullnode/node", set("run.ports", ["70000"]), "run.ports[0]"],
  ["port with 11 digits", "fullnode/node", set("run.ports", ["99999999999"]), "run.ports[0]"],
  ["fractional port", "fullnode/node", set("run.ports", [8333.5]), "run.ports[0]"],
  ["port with an unknown protocol", "fullnode/node", set("run.ports", ["8333/sctp"]), "run.ports[0]"],
  ["null port (an empty YAML list item)", "fullnode/node", set("run.ports", [null]), "run.ports[0]"],
  ["ports as a string", "fullnode/node", set("run.ports", "8333"), "run.ports"],
  ["ports as an object", "fullnode/node", set("run.ports", { p2p: 8333 }), "run.ports"],
  ["negative port", "fullnode/node", set("run.ports", [-1]), "run.ports[0]"],
  ["published port the image does not expose (a typo)", "fullnode/node", set("container.ports", [{ port: 8343 }]), "container.ports[0]"],
  ["steps as one string", "fullnode/node", set("build.steps", "make"), "build.steps"],
  ["nested step list", "fullnode/node", set("build.steps", [["make"]]), "build.steps"],
  ["null step", "fullnode/node", set("build.steps", [null]), "build.steps"],
  ["build env as a list", "fullnode/node", set("build.env", ["A=1"]), "build.env"],
  ["build env key with '='", "fullnode/node", set("build.env", { "A=B": "1" }), "build.env.A=B"],
  ["empty build env key", "fullnode/node", set("build.env", { "": "x" }), "build.env."],
  ["NUL in a build env value", "fullnode/node", set("build.env", { A: "x\u0000y" }), "build.env.A"],
  ["null build env value", "fullnode/node", set("build.env", { A: null }), "build.env.A"],
  ["passEnv as a string", "fullnode/node", set("build.passEnv", "GOPROXY"), "build.passEnv"],
  ["passEnv name with '='", "fullnode/node", set("build.passEnv", ["GOPROXY="]), "build.passEnv"],
  ["base image in upper case", "fullnode/node", set("build.from", "Golang:1.26"), "build.from"],
  ["base image as a number", "fullnode/node", set("build.from", 126), "build.from"],
  ["base image with a trailing colon", "fullnode/node", set("build.from", "golang:"), "build.from"],
  ["relative workdir", "fullnode/node", set("build.workdir", "src"), "build.workdir"],
  ["workdir climbing out", "fullnode/node", set("build.workdir", "/src/../.."), "build.workdir"],
  ["workdir as a number", "fullnode/node", set("build.workdir", 5), "build.workdir"],
  ["caches as a list", "fullnode/node", set("build.caches", ["/root/.cache"]), "build.caches"],
  ["cache name as a number", "fullnode/node", set("build.caches", { "/go/pkg/mod": 5 }), "build.caches['/go/pkg/mod']"],
  ["cache path with '..'", "fullnode/node", set("build.caches", { "/a/../b": "x" }), "build.caches['/a/../b']"],
  ["inputs as 'yes'", "fullnode/node", set("build.inputs", "yes"), "build.inputs"],
  ["artifacts as one string", "fullnode/node", set("build.artifacts", "/out/node"), "build.artifacts"],
  ["artifact as a number", "fullnode/node", set("build.artifacts", [5]), "build.artifacts[0]"],
  ["artifact '/'", "fullnode/node", set("build.artifacts", ["/"]), "build.artifacts[0]"],
  ["artifact named VERSION", "fullnode/node", set("build.artifacts", ["/out/VERSION"]), "build.artifacts[0]"],
  ["version command empty", "fullnode/node", set("build.version", { command: "" }), "build.version"],
  ["version as a plain string", "fullnode/node", set("build.version", "1.0"), "build.version"],
  ["version file as a number", "fullnode/node", set("build.version", { file: 5 }), "build.version"],
  ["entrypoint as one string", "fullnode/node", set("run.entrypoint", "/cyberapp/node"), "run.entrypoint"],
  ["entrypoint [null]", "fullnode/node", set("run.entrypoint", [null]), "run.entrypoint"],
  ["cmd as one string", "fullnode/node", set("run.cmd", "--foo"), "run.cmd"],
  ["run env value as a number", "fullnode/node", set("run.env", { A: 1 }), "run.env.A"],
  ["run env as a list", "fullnode/node", set("run.env", ["HOME=/x"]), "run.env"],
  ["uid null", "fullnode/node", set("run.uid", null), "run.uid"],
  ["uid 2^31", "fullnode/node", set("run.uid", 2 ** 31), "run.uid"],
  ["uid NaN", "fullnode/node", set("run.uid", Number.NaN), "run.uid"],
  ["label key with a space", "fullnode/node", set("run.labels", { "a b": "x" }), "run.labels['a b']"],
  [
    "label in the OCI namespace",
    "fullnode/node",
    set("run.labels", { "org.opencontainers.image.version": "1" }),
    "run.labels['org.opencontainers.image.version']",
  ],
  ["label value as a number", "fullnode/node", set("run.labels", { a: 1 }), "run.labels['a']"],
  ["labels as a list", "fullnode/node", set("run.labels", ["a=b"]), "run.labels"],
  ["empty run base", "fullnode/node", set("run.base", ""), "run.base"],
  ["source as a number", "fullnode/node", set("run.source", 5), "run.source"],
  ["revision as an object", "fullnode/node", set("run.revision", {}), "run.revision"],
  ["container null", "fullnode/node", set("container", null), "container"],
  ["empty container name", "fullnode/node", set("container.name", ""), "container.name"],
  ["container name with a leading dash", "fullnode/node", set("container.name", "-node"), "container.name"],
  ["container name as a number", "fullnode/node", set("container.name", 5), "container.name"],
  ["container name with a newline", "fullnode/node", set("container.name", "node\n"), "container.name"],
  ["restart with a trailing space", "fullnode/node", set("container.restart", "always "), "container.restart"],
  ["restart null", "fullnode/node", set("container.restart", null), "container.restart"],
  ["container port as a huge string", "fullnode/node", set("container.ports", [{ port: "70000" }]), "container.ports[0].port"],
  ["host port 0", "fullnode/node", set("container.ports", [{ port: 1, hostPort: 0 }]), "container.ports[0].hostPort"],
  ["bind to an IPv6 address", "fullnode/node", set("container.ports", [{ port: 1, bind: "::1" }]), "container.ports[0].bind"],
  ["container port protocol sctp", "fullnode/node", set("container.ports", [{ port: 1, protocol: "sctp" }]), "container.ports[0].protocol"],
  ["container port as a bare number", "fullnode/node", set("container.ports", [8333]), "container.ports[0]"],
  ["container ports as an object", "fullnode/node", set("container.ports", { port: 1 }), "container.ports"],
  ["container args as one string", "fullnode/node", set("container.args", "--x"), "container.args"],
  ["run missing", "fullnode/node", withChange((s) => delete (s as Partial<typeof s>).run), "run"],
  ["spec is null", "fullnode/node", null, "the spec file must"],
  ["spec is a list", "fullnode/node", [goodSpec()], "the spec file must"],
  ["unicode in the image name", "fullnode/bitcöin", goodSpec(), "name"],
  ["space in the image name", "fullnode/my node", goodSpec(), "name"],
  ["image name with three parts", "fullnode/btc/d", goodSpec(), "name"],
];

export const ctx = (over: Partial<StackContext> = {}): StackContext => ({
  stack: "fault",
  stackFile: "stacks/Pulumi.fault.yaml",
  specs: new Map([["fullnode/node", validateSpec("fullnode/node", goodSpec())]]),
  cyberUid: 1000,
  secretKeys: new Set(["rpcpass"]),
  ...over,
});
/** Objects reach the program as JSON text, as the Pulumi CLI passes them. */
export const nodes = (n: unknown) => JSON.stringify(n);
export const node = (fields: Any) => ({ uid: "1000", nodes: nodes({ node: { image: "fullnode/node", ...fields } }) });

/** [what, raw config, key the error must name] */
export const STACKS: [string, Any, string][] = [
  ["uid in exponent notation", { uid: "1e3" }, "cybernode:uid"],
  ["uid with 20 digits", { uid: "99999999999999999999" }, "cybernode:uid"],
  ["uid null", { uid: null }, "cybernode:uid"],
  ["uid true", { uid: true }, "cybernode:uid"],
  ["uid with a leading space", { uid: " 1000" }, "cybernode:uid"],
  ["empty host", { uid: "1000", host: "" }, "cybernode:host"],
  ["unix host without a path", { uid: "1000", host: "unix://" }, "cybernode:host"],
  ["unix host with a relative path", { uid: "1000", host: "unix://docker.sock" }, "cybernode:host"],
  ["tcp host without an address", { uid: "1000", host: "tcp://" }, "cybernode:host"],
  ["ssh host with a space", { uid: "1000", host: "ssh://cyber@node 1" }, "cybernode:host"],
  ["host as a number", { uid: "1000", host: 2376 }, "cybernode:host"],
  ["dataRoot climbing out", { uid: "1000", dataRoot: "/srv/../etc" }, "cybernode:dataRoot"],
  ["dataRoot as a list", { uid: "1000", dataRoot: '["/srv"]' }, "cybernode:dataRoot"],
  ["dataRoot of spaces", { uid: "1000", dataRoot: "   " }, "cybernode:dataRoot"],
  ["selinux '1'", { uid: "1000", selinux: "1" }, "cybernode:selinux"],
  ["selinux as the number 1", { uid: "1000", selinux: 1 }, "cybernode:selinux"],
  ["buildOn empty", { uid: "1000", buildOn: "" }, "cybernode:buildOn"],
  ["buildOn in upper case", { uid: "1000", buildOn: "LOCAL" }, "cybernode:buildOn"],
  ["baseImages as a plain string", { uid: "1000", baseImages: "golang=local" }, "cybernode:baseImages"],
  ["baseImages with an empty target", { uid: "1000", baseImages: nodes({ "golang:1.26": "" }) }, "cybernode:baseImages.golang:1.26"],
  ["baseImages target as a number", { uid: "1000", baseImages: nodes({ golang: 5 }) }, "cybernode:baseImages.golang"],
  ["baseImages as a list", { uid: "1000", baseImages: nodes(["golang"]) }, "cybernode:baseImages"],
  ["nodes as a plain string", { uid: "1000", nodes: "btcd" }, "cybernode:nodes"],
  ["node null (an empty YAML key)", { uid: "1000", nodes: nodes({ btcd: null }) }, "cybernode:nodes.btcd"],
  ["node image as a number", node({ image: 5 }), "cybernode:nodes.node.image"],
  ["node image empty", node({ image: "" }), "cybernode:nodes.node.image"],
  ["node ports as one string", node({ ports: "8333:8333" }), "cybernode:nodes.node.ports"],
  ["node port as an object", node({ ports: [{ port: 8333 }] }), "cybernode:nodes.node.ports[0]"],
  ["node host port 65536", node({ ports: ["65536:8333"] }), "cybernode:nodes.node.ports[0]"],
  ["node host port 0", node({ ports: ["0:8333"] }), "cybernode:nodes.node.ports[0]"],
  ["node bind address out of range", node({ ports: ["999.1.1.1:8333:8333"] }), "cybernode:nodes.node.ports[0]"],
  ["node port protocol sctp", node({ ports: ["8333/sctp"] }), "cybernode:nodes.node.ports[0]"],
  ["node port with a leading space", node({ ports: [" 8333"] }), "cybernode:nodes.node.ports[0]"],
  ["node port with an empty host port", node({ ports: ["127.0.0.1::8333"] }), "cybernode:nodes.node.ports[0]"],
  ["node args as one string", node({ args: "--rpcuser=x" }), "cybernode:nodes.node.args"],
  ["node args as numbers", node({ args: [1, 2] }), "cybernode:nodes.node.args"],
  ["node env as a list", node({ env: ["A=1"] }), "cybernode:nodes.node.env"],
  ["node env key empty", node({ env: { "": "x" } }), "cybernode:nodes.node.env."],
  ["node env key with a space", node({ env: { "A B": "1" } }), "cybernode:nodes.node.env.A B"],
  ["node env value as a number", node({ env: { A: 1 } }), "cybernode:nodes.node.env.A"],
  ["node env value null", node({ env: { A: null } }), "cybernode:nodes.node.env.A"],
  ["node restart on-failure:-1", node({ restart: "on-failure:-1" }), "cybernode:nodes.node.restart"],
  ["node restart as a number", node({ restart: 5 }), "cybernode:nodes.node.restart"],
  ["node label key with a space", node({ labels: { "my label": "x" } }), "cybernode:nodes.node.labels.my label"],
  ["node label value as a number", node({ labels: { a: 1 } }), "cybernode:nodes.node.labels.a"],
  ["node labels as a list", node({ labels: ["a=b"] }), "cybernode:nodes.node.labels"],
  ["node capDrop as one string", node({ capDrop: "ALL" }), "cybernode:nodes.node.capDrop"],
  ["node capAdd in lower case", node({ capAdd: ["net_admin"] }), "cybernode:nodes.node.capAdd"],
  ["node tmpSize as a number", node({ tmpSize: 64 }), "cybernode:nodes.node.tmpSize"],
  ["node noNewPrivileges as a string", node({ noNewPrivileges: "false" }), "cybernode:nodes.node.noNewPrivileges"],
  ["node enabled as 0", node({ enabled: 0 }), "cybernode:nodes.node.enabled"],
  ["unicode node name", { uid: "1000", nodes: nodes({ bitcöin: { image: "fullnode/node" } }) }, "cybernode:nodes.bitcöin"],
  ["empty node name", { uid: "1000", nodes: nodes({ "": { image: "fullnode/node" } }) }, "cybernode:nodes."],
  [
    "secret placeholder with a hyphenated key",
    { rpcpass: "x", ...node({ args: ["--rpcpass=${secret:rpc-pass}"] }) },
    "cybernode:nodes.node.args",
  ],
  ["empty secret placeholder", node({ args: ["--rpcpass=${secret:}"] }), "cybernode:nodes.node.args"],
];

// Inputs the validators once accepted although Docker or the node would fail on them later.
export const GAPS: [string, () => unknown][] = [
  ["NUL byte in a build step", () => validateSpec("fullnode/node", set("build.steps", ["echo a\u0000b"]))],
  ["NUL byte in the entrypoint", () => validateSpec("fullnode/node", set("run.entrypoint", ["/cyberapp/node\u0000"]))],
  ["NUL byte in container args", () => validateSpec("fullnode/node", set("container.args", ["--a\u0000"]))],
  ["relative entrypoint in a scratch image (no PATH, no shell)", () => validateSpec("fullnode/node", set("run.entrypoint", ["node"]))],
  ["NUL byte in a node's args", () => validateStackConfig(node({ args: ["a\u0000"] }), ctx())],
  ["NUL byte in a node's env value", () => validateStackConfig(node({ env: { A: "a\u0000" } }), ctx())],
];

/** Runs every spec and stack case; returns what was accepted and, for each refusal, what was wrong with it. */
export function refuseAll(): { tried: number; accepted: string[]; wrong: string[] } {
  const accepted: string[] = [];
  const wrong: string[] = [];
  const judge = (what: string, prefix: string, field: string, run: () => unknown) => {
    try {
      run();
      accepted.push(what);
    } catch (e) {
      const msg = (e as Error).message;
      if (!(e instanceof InputError)) wrong.push(`${what}: not an InputError: ${String(e)}`);
      else if (!msg.startsWith(prefix)) wrong.push(`${what}: does not start with ${prefix}: ${msg}`);
      else if (!msg.includes(field)) wrong.push(`${what}: expected ${field} in ${msg}`);
    }
  };
  for (const [what, name, raw, field] of SPECS)
    judge(`spec: ${what}`, `image ${name}:`, field === "the spec file must" ? field : `${field}:`, () => validateSpec(name, raw));
  for (const [what, raw, key] of STACKS)
    judge(`stack: ${what}`, "stack file stacks/Pulumi.fault.yaml:", `${key}:`, () => validateStackConfig(raw, ctx()));
  return { tried: SPECS.length + STACKS.length, accepted, wrong };
}
