import type { ResourceOps } from "./types";

/**
 * How the provider plugin answers the engine: each call goes to the resource type named in its URN, with
 * secrets unwrapped (the plugin accepts secrets; state keeps what each resource stores, e.g. a hash of
 * buildEnv). Pure apart from the calls themselves, so it is tested without an engine.
 */

/** The resource types the plugin serves, by type token (`cybernode-images:index:BuildImage`). */
export type ResourceTable = Record<string, ResourceOps>;

/** The functions (Pulumi invokes) the plugin serves, by token (`cybernode-images:index:engineKind`): inputs → outputs. */
export type FunctionTable = Record<string, (inputs: Props) => Promise<Props>>;

/** `urn:pulumi:stack::project::parent$type::name` → `type`. Pure. */
export function typeOfUrn(urn: string): string {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) throw new Error(`not a Pulumi URN: ${urn}`);
  const chain = parts[2].split("$");
  return chain[chain.length - 1];
}

/** The engine's address among the plugin's arguments: the last that is not a flag (logging flags may come first). Pure. */
export function engineArgument(args: string[]): string | undefined {
  return args.filter((a) => !a.startsWith("-")).pop();
}

/** The marker the engine puts on secret values (with `value` beside it). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The values inside secret wrappers, at any depth. Pure. */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

// biome-ignore lint/suspicious/noExplicitAny: property bags as the engine sends them
type Props = any;

/** The SDK's provider contract (@pulumi/pulumi/provider), the subset the plugin implements. */
export interface PluginProvider {
  version: string;
  check(urn: string, olds: Props, news: Props): Promise<{ inputs?: Props; failures?: { property: string; reason: string }[] }>;
  diff(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
  ): Promise<{ changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }>;
  create(urn: string, inputs: Props): Promise<{ id: string; outs?: Props }>;
  read(id: string, urn: string, props: Props): Promise<{ id?: string; props?: Props }>;
  update(id: string, urn: string, olds: Props, news: Props): Promise<{ outs?: Props }>;
  delete(id: string, urn: string, props: Props): Promise<void>;
  invoke(token: string, inputs: Props): Promise<{ outputs?: Props; failures?: { property: string; reason: string }[] }>;
}

/** The provider the plugin serves: every call dispatched by the URN's type to `table`, every invoke by its token to `functions`. */
export function pluginProvider(table: ResourceTable, version: string, functions: FunctionTable = {}): PluginProvider {
  const ops = (urn: string): ResourceOps => {
    const type = typeOfUrn(urn);
    const found = table[type];
    if (!found) {
      throw new Error(
        `the cybernode-images provider has no resource type ${type} (it has ${Object.keys(table).sort().join(", ")}): is the project's code older than its state? Run npm ci in the project folder.`,
      );
    }
    return found;
  };
  const u = unwrapSecrets;
  return {
    version,
    // Checks validate; the inputs go back as sent, so secrets stay wrapped (and encrypted in state).
    check: async (urn, olds, news) => {
      const o = ops(urn);
      const failures = (o.check && (await o.check(u(olds), u(news), urn)).failures) || [];
      return { inputs: news, failures };
    },
    diff: async (id, urn, olds, news) => {
      const o = ops(urn);
      return o.diff ? o.diff(id, u(olds), u(news), urn) : {};
    },
    create: async (urn, inputs) => ops(urn).create(u(inputs), urn),
    read: async (id, urn, props) => {
      const o = ops(urn);
      return o.read ? o.read(id, u(props), urn) : { id, props };
    },
    update: async (id, urn, olds, news) => {
      const o = ops(urn);
      return o.update ? o.update(id, u(olds), u(news), urn) : { outs: news };
    },
    delete: async (id, urn, props) => {
      await ops(urn).delete?.(id, u(props), urn);
    },
    invoke: async (token, inputs) => {
      const fn = functions[token];
      if (!fn)
        throw new Error(
          `the cybernode-images provider has no function ${token} (it has ${Object.keys(functions).sort().join(", ") || "none"}): run npm ci in the project folder.`,
        );
      return { outputs: await fn(u(inputs)) };
    },
  };
}
