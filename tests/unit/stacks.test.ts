import test from "ava";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { mockStack, outputValue } from "../helpers/pulumiMocks";

const PROJECT = join(__dirname, "../..");
const STACKS = readdirSync(join(PROJECT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f));

test("there is a stack file for the local host", (t) => {
  t.true(STACKS.includes("Pulumi.local.yaml"));
});

for (const file of STACKS) {
  const stack = file.slice("Pulumi.".length, -".yaml".length);
  test.serial(`stack ${stack}: declares images, data dirs and containers from its config`, async (t) => {
    const declared = await mockStack(stack, join(PROJECT, "stacks", file), { "cybernode:uid": "1000" });
    // Load the program as Pulumi does (index.ts through tsx), fresh for each stack.
    delete require.cache[require.resolve("../../index.ts")];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../index.ts") as typeof import("../../index");
    const nodes = (await outputValue(program.nodes as never)).value as Record<string, { container: string; image: string; imageId: string; version: string }>;
    await new Promise((r) => setTimeout(r, 50));
    const byType = (re: RegExp) => declared.filter((d) => re.test(d.type));
    const providers = byType(/^pulumi:providers:docker$/);
    t.is(providers.length, 1);
    const containers = byType(/^docker:index\/container:Container$/);
    t.true(containers.length >= 1, "at least one container");
    t.deepEqual(Object.keys(nodes).sort(), containers.map((c) => c.name).sort());
    for (const c of containers) {
      const i = c.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- mock inputs are untyped JSON
      t.is(i.name, c.name);
      t.is(i.user, "1000:1000");
      t.regex(String(i.restart), /^(no|always|unless-stopped|on-failure(:\d+)?)$/);
      t.is(i.image, `sha256:${"0".repeat(64)}`, "container runs the run image ID, not a tag");
      t.deepEqual(i.volumes.map((v: { containerPath: string }) => v.containerPath), ["/cyberdata"]);
      t.is(i.volumes[0].hostPath, `/home/cyber/cyberdata/${c.name}`);
      const rpc = i.ports.find((p: { internal: number }) => p.internal === 18545);
      if (rpc) t.is(rpc.ip, "127.0.0.1", "RPC bound to loopback");
    }
    t.true(byType(/DataDir/).every((d) => (d.inputs as { uid: number }).uid === 1000));
    t.is(byType(/cybernode:index:Image/).length, new Set(Object.values(nodes).map((n) => n.image)).size);
    t.true(byType(/RunImage/).length >= 1);
  });
}
