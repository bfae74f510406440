import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { load } from "js-yaml";

export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Options Pulumi recorded (parent, deleteBeforeReplace, ...), when the mock sees them. */
  urn?: string;
}

/**
 * Points Pulumi's runtime at mocks for one stack and loads that stack file's config the way the CLI
 * would (objects as JSON strings, secure values marked secret). Returns the list the mocks fill.
 */
export async function mockStack(stack: string, stackFile: string, secrets: Record<string, string> = {}): Promise<Declared[]> {
  const declared: Declared[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        declared.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.includes("RunImage")) Object.assign(state, { imageId: `sha256:${"0".repeat(64)}`, version: "1.0.0", tags: [], artifacts: [] });
        if (args.type.includes("DataDir")) state.path = args.inputs.path;
        return { id: `${args.name}-id`, state };
      },
      call: () => ({}),
    },
    "cybernode",
    stack,
    false,
  );
  const doc = load(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    if (v && typeof v === "object" && "secure" in (v as object)) {
      config[k] = secrets[k] ?? "mock-secret";
      secretKeys.push(k);
    } else config[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  for (const [k, v] of Object.entries(secrets)) {
    config[k] = v;
    if (!secretKeys.includes(k)) secretKeys.push(k);
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
  return declared;
}

/** Resolves an Output's value (and whether it is secret) under mocks. */
export function outputValue<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
  return new Promise((resolve) => {
    pulumi.all([o, pulumi.isSecret(o)]).apply(([value, secret]) => resolve({ value: value as T, secret }));
  });
}
