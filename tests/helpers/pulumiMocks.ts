import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { CHECK_HOST_TOKEN } from "../../src/stack/hostProblems";

export interface Declared {
  type: string;
  name: string;
  /** Inputs as the engine received them (secrets unwrapped). */
  inputs: Record<string, unknown>;
  /** Options as the engine received them. */
  opts?: { deleteBeforeReplace: boolean; retainOnDelete: boolean; dependsOn?: string[] };
  /** Name of the parent resource, if any. */
  parentName?: string;
}

export const MOCK_IMAGE_ID = `sha256:${"0".repeat(64)}`;
export const PULLED_IMAGE_ID = `sha256:${"1".repeat(64)}`;

/**
 * Points Pulumi's runtime at mocks for one stack and loads that stack file's config the way the CLI
 * would (objects as JSON strings, `secure:` values and `secrets` marked secret), then runs the program
 * (index.ts, fresh) and returns every resource it declared with inputs, options and parent.
 */
export async function runStackWithMocks(
  stack: string,
  stackFile: string,
  overrides: {
    plain?: Record<string, unknown>;
    secrets?: Record<string, string>;
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** What the stack's host is, as the plugin's checkHost function would say. */
    engine?: "docker" | "podman";
  } = {},
): Promise<{ declared: Declared[]; outputs: Record<string, unknown>; calls: string[]; arrivals: string[] }> {
  const declared: Declared[] = [];
  /** The tokens of the provider functions the program called (invokes), in order. */
  const calls: string[] = [];
  /** Invoke tokens and registered resource types, in the order they reached the mock engine. */
  const arrivals: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.includes("BuildImage"))
          Object.assign(state, { buildKey: "k".repeat(64), buildTag: "t", baseImageId: "b", stepsRun: 0 });
        if (args.type.includes("Binaries")) Object.assign(state, { digest: "d".repeat(64), version: "1.0.0", files: [] });
        if (args.type.includes("RunImage")) {
          const pullRef = args.inputs.registry
            ? `${args.inputs.registry}/cybernode/x@sha256:${"f".repeat(64)}`
            : String(args.inputs.targetHost ?? "").startsWith("containerd://")
              ? `cybernode/x:cid-${"0".repeat(64)}`
              : "";
          Object.assign(state, {
            imageId: args.inputs.promotedImageId || MOCK_IMAGE_ID,
            configDigest: args.inputs.promotedImageId || MOCK_IMAGE_ID,
            version: "1.0.0",
            tags: [],
            shippedBytes: 0,
            pullRef,
            present: true,
          });
        }
        if (args.type === "docker:index/remoteImage:RemoteImage")
          Object.assign(state, { imageId: PULLED_IMAGE_ID, repoDigest: args.inputs.name });
        if (args.type === "pulumi:pulumi:StackReference") {
          const name = String(args.inputs.name ?? args.id);
          const outputs = overrides.stackOutputs?.[name.split("/").pop() as string];
          if (!outputs) throw new Error(`unknown stack ${name}`);
          Object.assign(state, { name, outputs, secretOutputNames: [] });
        }
        const entry = declared.find((d) => d.name === args.name && d.type === args.type);
        if (entry) Object.assign(entry, { inputs: args.inputs });
        else declared.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => {
        calls.push(args.token);
        arrivals.push(args.token);
        return args.token === CHECK_HOST_TOKEN ? { kind: overrides.engine ?? "docker", version: "mock", problems: [] } : {};
      },
    },
    "cybernode",
    stack,
    false,
    "organization",
  );
  // The mock monitor sees each registration request: record the options the engine would get.
  type Req = {
    getType(): string;
    getName(): string;
    getParent(): string;
    getDeletebeforereplace(): boolean;
    getRetainondelete(): boolean;
    getCustom(): boolean;
    getDependenciesList(): string[];
  };
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Req, cb: unknown): Promise<void> };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req: Req, cb: unknown) => {
    arrivals.push(req.getType());
    const info = {
      opts: {
        deleteBeforeReplace: req.getDeletebeforereplace(),
        retainOnDelete: req.getRetainondelete(),
        // Names of the resources it depends on (the last part of each URN).
        dependsOn: req.getDependenciesList().map((urn) => urn.split("::").pop() as string),
      },
      parentName: req.getParent() ? req.getParent().split("::").pop() : undefined,
    };
    const e = declared.find((d) => d.name === req.getName() && d.type === req.getType());
    if (e) Object.assign(e, info);
    else declared.push({ type: req.getType(), name: req.getName(), inputs: {}, ...info });
    return original(req, cb);
  };
  const doc = load(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const set = (key: string, v: unknown, secret: boolean) => {
    const k = key.includes(":") ? key : `cybernode:${key}`; // Pulumi files a key without a namespace under the project's
    config[k] = typeof v === "string" ? v : JSON.stringify(v);
    if (secret && !secretKeys.includes(k)) secretKeys.push(k);
  };
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    const secure = v && typeof v === "object" && "secure" in (v as object);
    set(k, secure ? "mock-secret" : v, Boolean(secure));
  }
  for (const [k, v] of Object.entries(overrides.plain ?? {})) set(k, v, false);
  for (const [k, v] of Object.entries(overrides.secrets ?? {})) set(k, v, true);
  pulumi.runtime.setAllConfig(config, secretKeys);

  const entry = require.resolve("../../index.ts");
  delete require.cache[entry];
  // index.ts exports the program's promise of its outputs, as Pulumi's runner awaits it.
  const program = (await require(entry)) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) outputs[k] = pulumi.Output.isInstance(v) ? (await outputValue(v)).value : v;
  // Let the mock monitor receive every registration before the caller looks.
  await new Promise((r) => setTimeout(r, 100));
  return { declared, outputs, calls, arrivals };
}

/** Resolves an Output's value and whether it is secret. */
export function outputValue<T>(o: pulumi.Output<T> | T): Promise<{ value: T; secret: boolean }> {
  const out = pulumi.output(o) as pulumi.Output<T>;
  return new Promise((resolve) => {
    pulumi.all([out, pulumi.isSecret(out)]).apply(([value, secret]) => resolve({ value: value as T, secret }));
  });
}
