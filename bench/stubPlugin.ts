import * as pulumi from "@pulumi/pulumi";
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../src/common/shell";
import { PROJECT, type PluginEntry } from "../tests/helpers/engine";

/**
 * The floor of `bench:engine`: a provider plugin that answers every call at once, built and started the
 * way the project's own plugin is (an esbuild bundle of the SDK's provider server, loaded with the V8
 * code cache), and a program with the same shape as a 3-image stack (3 components × 3 chained
 * resources). What it costs over an empty stack is what any plugin-backed stack of that shape costs.
 */
export const STUB_PACKAGE = "cybernodestub";

const SOURCE = `
import { main } from "@pulumi/pulumi/provider/server";
const provider = {
  version: "1.0.0",
  check: async (_urn: string, _olds: unknown, news: unknown) => ({ inputs: news }),
  diff: async () => ({ changes: false }),
  create: async (_urn: string, inputs: unknown) => ({ id: "stub", outs: inputs }),
  read: async (id: string, _urn: string, props: unknown) => ({ id, props }),
  update: async (_id: string, _urn: string, _olds: unknown, news: unknown) => ({ outs: news }),
  delete: async () => {},
};
// biome-ignore lint/suspicious/noExplicitAny: the SDK's Provider type asks for more than a stub answers
main(provider as any, process.argv.slice(2));
`;

/**
 * Seconds from exec to the first line on stdout, the port a plugin prints once its gRPC server listens
 * (the engine waits for it). The engine address is a dead one: nothing is asked before the port.
 */
export function startSeconds(command: string, args: string[] = ["127.0.0.1:1"]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.once("data", () => {
      resolve((performance.now() - t0) / 1000);
      child.kill();
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`${command} exited (${code}) before printing its port`)));
  });
}

/** Builds the stub plugin into a fresh folder; returns its Pulumi.yaml entry. */
export async function stubPlugin(): Promise<PluginEntry> {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-stub-plugin-"));
  await build({
    stdin: { contents: SOURCE, resolveDir: PROJECT, loader: "ts", sourcefile: "stub.ts" },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile: join(dir, "stub.js"),
    external: ["typescript"],
    logLevel: "error",
  });
  // Started as ours is: a shell launcher, node through bin/node-no-extra-ca, the environment put back.
  const bundled = JSON.stringify(join(PROJECT, "bin/bundled.js"));
  writeFileSync(
    join(dir, "main.js"),
    `const b = require(${bundled});\nb.restoreHeldEnv(process.env);\nb.requireWithCodeCache(${JSON.stringify(join(dir, "stub.js"))});\n`,
  );
  const launcher = join(dir, `pulumi-resource-${STUB_PACKAGE}`);
  writeFileSync(
    launcher,
    `#!/bin/sh\nexec ${shellQuote(join(PROJECT, "bin/node-no-extra-ca"))} ${shellQuote(join(dir, "main.js"))} "$@"\n`,
  );
  chmodSync(launcher, 0o755);
  return { name: STUB_PACKAGE, path: dir };
}

class StubThing extends pulumi.CustomResource {
  declare readonly value: pulumi.Output<string>;
  constructor(name: string, args: { value: pulumi.Input<string> }, opts: pulumi.CustomResourceOptions) {
    super(`${STUB_PACKAGE}:index:Thing`, name, args, opts);
  }
}

/** 3 components of 3 chained stub resources, as the program declares 3 images. */
export async function stubProgram(): Promise<void> {
  for (const image of ["a", "b", "c"]) {
    const parent = new pulumi.ComponentResource("cybernode:index:Image", `stub-${image}`, {});
    const build = new StubThing(`stub-${image}-build`, { value: image }, { parent });
    const bin = new StubThing(`stub-${image}-bin`, { value: build.value }, { parent });
    new StubThing(`stub-${image}-run`, { value: bin.value }, { parent });
  }
}
