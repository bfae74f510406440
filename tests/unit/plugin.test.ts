import test from "ava";
import { pluginProvider, typeOfUrn, unwrapSecrets } from "../../src/provider/dispatch";
import { FUNCTIONS, RESOURCE_TYPES } from "../../src/provider/resourceTypes";
import { PROVIDER_VERSION, type ResourceOps } from "../../src/provider/types";

const SECRET = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
const URN = "urn:pulumi:local::cybernode::cybernode:index:Image$cybernode-images:index:BuildImage::fullnode-btcd-build";

test("the resource type comes from the URN's last type, also under a parent", (t) => {
  t.is(typeOfUrn(URN), "cybernode-images:index:BuildImage");
  t.is(typeOfUrn("urn:pulumi:s::p::cybernode-images:index:DataDir::btcd-data"), "cybernode-images:index:DataDir");
  t.throws(() => typeOfUrn("fullnode-btcd-build"), { message: /not a Pulumi URN/ });
});

test("secret values are unwrapped at any depth; other values stay as they are", (t) => {
  t.deepEqual(unwrapSecrets({ buildEnv: SECRET({ GOPROXY: "https://x" }), list: [SECRET("a"), "b"], n: 1 }), {
    buildEnv: { GOPROXY: "https://x" },
    list: ["a", "b"],
    n: 1,
  });
  t.is(unwrapSecrets(null), null);
});

test("calls go to the URN's type with secrets unwrapped; check hands back the inputs as sent, secrets still wrapped", async (t) => {
  const seen: unknown[] = [];
  const fake: ResourceOps = {
    async check(_olds, news, urn) {
      seen.push(["check", news, urn]);
      return { inputs: { rewritten: true }, failures: [{ property: "image", reason: "bad" }] };
    },
    async create(inputs, urn) {
      seen.push(["create", inputs, urn]);
      return { id: "x", outs: { ok: 1 } };
    },
  };
  const p = pluginProvider({ "cybernode-images:index:BuildImage": fake }, "1.0.0");
  const news = { image: "fullnode/btcd", buildEnv: SECRET({ TOKEN: "s" }) };
  const checked = await p.check(URN, {}, news);
  t.deepEqual(checked, { inputs: news, failures: [{ property: "image", reason: "bad" }] });
  t.deepEqual(await p.create(URN, news), { id: "x", outs: { ok: 1 } });
  t.deepEqual(seen, [
    ["check", { image: "fullnode/btcd", buildEnv: { TOKEN: "s" } }, URN],
    ["create", { image: "fullnode/btcd", buildEnv: { TOKEN: "s" } }, URN],
  ]);
  // Missing methods: diff says nothing changed is not assumed (empty result: the engine diffs inputs), read echoes.
  t.deepEqual(await p.diff("x", URN, {}, {}), {});
  t.deepEqual(await p.read("x", URN, { a: 1 }), { id: "x", props: { a: 1 } });
  await t.throwsAsync(p.create(URN.replace("BuildImage", "Nope"), {}), {
    message: /no resource type cybernode-images:index:Nope \(it has cybernode-images:index:BuildImage\)/,
  });
});

test("invokes go to the function named by their token, with secrets unwrapped; an unknown token says which exist", async (t) => {
  const seen: unknown[] = [];
  const p = pluginProvider({}, "1.0.0", {
    "cybernode-images:index:checkHost": async (inputs) => {
      seen.push(inputs);
      return { kind: "podman", version: "4.3.1" };
    },
  });
  t.deepEqual(await p.invoke("cybernode-images:index:checkHost", { host: SECRET("unix:///run/podman/podman.sock") }), {
    outputs: { kind: "podman", version: "4.3.1" },
  });
  t.deepEqual(seen, [{ host: "unix:///run/podman/podman.sock" }]);
  await t.throwsAsync(p.invoke("cybernode-images:index:nope", {}), {
    message: /no function cybernode-images:index:nope \(it has cybernode-images:index:checkHost\)/,
  });
  t.deepEqual(
    Object.keys(FUNCTIONS).sort(),
    ["cybernode-images:index:checkHost", "cybernode-images:index:providerVersion"],
    "the plugin serves the functions the program invokes",
  );
  t.deepEqual(await FUNCTIONS["cybernode-images:index:providerVersion"]({}), { version: PROVIDER_VERSION });
});

test("the plugin serves every resource type the program declares", (t) => {
  t.deepEqual(Object.keys(RESOURCE_TYPES).sort(), [
    "cybernode-images:index:Binaries",
    "cybernode-images:index:BuildImage",
    "cybernode-images:index:DataDir",
    "cybernode-images:index:RunImage",
    "cybernode-images:index:SecretFiles",
    "cybernode-images:index:SharedSecret",
  ]);
  const { readFileSync, readdirSync } = require("node:fs") as typeof import("node:fs");
  const { join } = require("node:path") as typeof import("node:path");
  const declared = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else {
        // CustomResource subclasses only (the Image component has the same package but no provider).
        const text = readFileSync(join(dir, e.name), "utf8");
        for (const cls of text.split(/\bclass /).filter((c) => /^\w+ extends pulumi\.CustomResource/.test(c)))
          for (const m of cls.matchAll(/super\(\s*"(cybernode-images:index:\w+)"/g)) declared.add(m[1]);
      }
    }
  };
  walk(join(__dirname, "../../src"));
  t.deepEqual([...declared].sort(), Object.keys(RESOURCE_TYPES).sort(), "every CustomResource type in src/ has a handler");
});
