import test from "ava";
import { InputError } from "../../src/imageSpec/errors";
import { validateSpec } from "../../src/imageSpec/validate";
import { validateStackConfig, type StackContext } from "../../src/stack/config";
import { afterCycle, healthWaitSeconds, startOrder } from "../../src/stack/nodeLinks";
import { goodSpec } from "../helpers/specs";

/** Two images like geth and beacon: the execution side reads /cybersecrets/jwt.hex, the beacon side a setting. */
const ctx = (over: Partial<StackContext> = {}): StackContext => ({
  stack: "eth",
  stackFile: "stacks/Pulumi.eth.yaml",
  specs: new Map([
    ["fullnode/exec", validateSpec("fullnode/exec", { ...goodSpec(), container: { name: "exec", sharedSecretFiles: ["jwt.hex"] } })],
    [
      "fullnode/cons",
      validateSpec("fullnode/cons", {
        ...goodSpec(),
        run: { ...goodSpec().run, health: { command: ["/cyberapp/node", "ok"], interval: 5, timeout: 2, retries: 2, startPeriod: 30 } },
        container: { name: "cons", settings: { syncUrl: "a Beacon API you trust" } },
      }),
    ],
  ]),
  cyberUid: 1000,
  secretKeys: new Set(["pass"]),
  ...over,
});

const JWT = { "engine-jwt": { file: "jwt.hex", template: "${random}" } };
const pair = (over: Record<string, unknown> = {}) => ({
  sharedSecrets: JWT,
  syncUrl: "https://beacon.example",
  nodes: {
    exec: { image: "fullnode/exec", secrets: ["engine-jwt"] },
    cons: { image: "fullnode/cons", secrets: ["engine-jwt"], after: ["exec"], args: ["--sync=${config:syncUrl}"] },
  },
  ...over,
});

/** The stack file's problems, or [] when it is accepted. */
function problems(raw: Record<string, unknown>, c = ctx()): string[] {
  try {
    validateStackConfig(raw, c);
    return [];
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.problems;
  }
}

test("a pair: one network named after the stack, the secret on both nodes, the order and the setting filled in", (t) => {
  const p = validateStackConfig(pair(), ctx());
  t.is(p.network, "cybernode-eth");
  t.deepEqual(p.sharedSecrets, [{ name: "engine-jwt", file: "jwt.hex", template: "${random}" }]);
  const [exec, cons] = [p.nodes.find((n) => n.name === "exec"), p.nodes.find((n) => n.name === "cons")];
  t.deepEqual(
    exec?.sharedSecrets.map((s) => s.file),
    ["jwt.hex"],
  );
  t.deepEqual(
    cons?.sharedSecrets.map((s) => s.name),
    ["engine-jwt"],
  );
  t.deepEqual(cons?.after, ["exec"]);
  t.true(cons?.args.includes("--sync=https://beacon.example"));
  t.is(exec?.healthWait, null, "no health check: the nodes after it start once it runs");
  t.is(cons?.healthWait, 30 + 3 * (5 + 2) + 60);
});

test("cybernode:network names the network; the engine's own networks and a Kubernetes stack refuse it", (t) => {
  t.is(validateStackConfig(pair({ network: "eth-net" }), ctx()).network, "eth-net");
  t.deepEqual(
    problems(pair({ network: "bridge" })).map((x) => x.split(":")[1]),
    ["network"],
  );
  t.regex(problems(pair({ network: "a/b" }))[0], /^cybernode:network: "a\/b" is not a network name/);
  const kube = problems(pair({ network: "x", kubernetes: { namespace: "eth", registry: "r.example/c" }, registry: "r.example/c" }));
  t.true(
    kube.some((x) => /^cybernode:network: a Kubernetes stack's nodes share its namespace/.test(x)),
    kube.join("\n"),
  );
});

const BAD: [string, Record<string, unknown>, RegExp][] = [
  [
    "a node lists an unknown secret",
    pair({ nodes: { exec: { image: "fullnode/exec", secrets: ["engine-jwt", "nope"] } } }),
    /^cybernode:nodes\.exec\.secrets: 'nope' is not in cybernode:sharedSecrets \(known: engine-jwt\)/,
  ],
  [
    "a node starts after an unknown node",
    pair({ nodes: { exec: { image: "fullnode/exec", secrets: ["engine-jwt"], after: ["geht"] } } }),
    /^cybernode:nodes\.exec\.after: 'geht' is not a node of this stack; nodes: exec/,
  ],
  [
    "a circle in after",
    pair({
      nodes: {
        exec: { image: "fullnode/exec", secrets: ["engine-jwt"], after: ["cons"] },
        cons: { image: "fullnode/cons", after: ["exec"], args: ["--sync=${config:syncUrl}"] },
      },
    }),
    /^cybernode:nodes\.cons\.after: nodes wait for each other in a circle \(cons → exec → cons\)/,
  ],
  [
    "a node after itself",
    pair({ nodes: { exec: { image: "fullnode/exec", secrets: ["engine-jwt"], after: ["exec"] } } }),
    /^cybernode:nodes\.exec\.after: node 'exec' cannot start after itself/,
  ],
  [
    "a node after a disabled node",
    pair({
      nodes: {
        exec: { image: "fullnode/exec", enabled: false },
        cons: { image: "fullnode/cons", after: ["exec"], args: ["--sync=${config:syncUrl}"] },
      },
    }),
    /^cybernode:nodes\.cons\.after: node 'exec' is disabled/,
  ],
  [
    "a secret name that is not a file or object name",
    pair({ sharedSecrets: { "../jwt": { file: "jwt.hex" } } }),
    /^cybernode:sharedSecrets\.\.\.\/jwt: '\.\.\/jwt' is not a secret name/,
  ],
  [
    "a secret file that is a path",
    pair({ sharedSecrets: { "engine-jwt": { file: "../jwt.hex" } } }),
    /^cybernode:sharedSecrets\.engine-jwt\.file: "\.\.\/jwt\.hex" must be a plain file name/,
  ],
  [
    "a secret without a random part",
    pair({ sharedSecrets: { "engine-jwt": { file: "jwt.hex", template: "0123" } } }),
    /^cybernode:sharedSecrets\.engine-jwt\.template: has no \$\{random\}/,
  ],
  [
    "an unknown field in a secret",
    pair({ sharedSecrets: { "engine-jwt": { file: "jwt.hex", mode: "0644" } } }),
    /^cybernode:sharedSecrets\.engine-jwt\.mode: unknown field/,
  ],
  [
    "two secrets of one node in the same file",
    pair({
      sharedSecrets: { ...JWT, other: { file: "jwt.hex" } },
      nodes: { exec: { image: "fullnode/exec", secrets: ["engine-jwt", "other"] } },
    }),
    /^cybernode:nodes\.exec\.secrets: 'other' and 'engine-jwt' both mount \/cybersecrets\/jwt\.hex/,
  ],
  [
    "an image that reads a secret the node is not given",
    pair({ nodes: { exec: { image: "fullnode/exec" } } }),
    /^cybernode:nodes\.exec\.secrets: image fullnode\/exec reads \/cybersecrets\/jwt\.hex: add the shared secret that makes it: secrets: \[engine-jwt\]/,
  ],
  [
    "the same, with no shared secret declared",
    { nodes: { exec: { image: "fullnode/exec" } } },
    /^cybernode:nodes\.exec\.secrets: image fullnode\/exec reads \/cybersecrets\/jwt\.hex: declare a shared secret/,
  ],
  [
    "a setting the args use is not set: the image's help says what it is",
    pair({ syncUrl: undefined }),
    /^cybernode:nodes\.cons\.args: uses \$\{config:syncUrl\} but cybernode:syncUrl is not set \(a Beacon API you trust\): pulumi config set --stack eth cybernode:syncUrl <value>/,
  ],
  [
    "a secret used as a plain setting",
    pair({ pass: "x", nodes: { cons: { image: "fullnode/cons", args: ["--p=${config:pass}"] } } }),
    /^cybernode:nodes\.cons\.args: \$\{config:pass\} would put the secret cybernode:pass in plain view/,
  ],
  [
    "a secret list that is not a list",
    pair({ nodes: { exec: { image: "fullnode/exec", secrets: "engine-jwt" } } }),
    /^cybernode:nodes\.exec\.secrets: must be a list of names/,
  ],
];

for (const [what, raw, expected] of BAD)
  test(`refused before anything changes: ${what}`, (t) => {
    const found = problems(raw);
    t.true(
      found.some((p) => expected.test(p)),
      `expected ${expected} among:\n${found.join("\n")}`,
    );
  });

test("a setting the args use is a known stack key, not an unknown one", (t) => {
  t.deepEqual(problems(pair()), []);
});

test("afterCycle finds circles of any length and only circles", (t) => {
  t.is(
    afterCycle([
      { name: "a", after: ["b"] },
      { name: "b", after: ["c"] },
      { name: "c", after: [] },
    ]),
    null,
  );
  t.deepEqual(
    afterCycle([
      { name: "a", after: ["b"] },
      { name: "b", after: ["c"] },
      { name: "c", after: ["a"] },
    ]),
    ["a", "b", "c", "a"],
  );
  t.is(
    afterCycle([
      { name: "a", after: ["b", "c"] },
      { name: "b", after: ["c"] },
      { name: "c", after: [] },
    ]),
    null,
    "a diamond is not a circle",
  );
});

test("startOrder puts each node after the nodes it names", (t) => {
  t.deepEqual(
    startOrder([
      { name: "a", after: ["c"] },
      { name: "b", after: [] },
      { name: "c", after: ["b"] },
    ]),
    ["b", "c", "a"],
  );
});

test("healthWaitSeconds: the node's own check, the image's, or none", (t) => {
  const h = { command: ["x"], interval: 10, timeout: 5, retries: 3, startPeriod: 100 };
  t.is(healthWaitSeconds(h, undefined), 100 + 4 * 15 + 60);
  t.is(healthWaitSeconds("image", h), 220);
  t.is(healthWaitSeconds("off", h), null);
  t.is(healthWaitSeconds("image", undefined), null);
});
