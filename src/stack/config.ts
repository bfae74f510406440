import { InputError } from "../imageSpec/errors";
import { configRefs, parseNode, type NodePlan } from "./nodeConfig";
import { linkProblems, parseNetwork, parseSharedSecrets, type SharedSecret } from "./nodeLinks";
import { type KubernetesTarget, kubernetesNodeProblems, parseKubernetesTarget } from "./kubernetesConfig";
export { fillSecrets, parsePortMapping, DEFAULT_SECURITY, type NodePlan, type NodePort, type NodeSecurity } from "./nodeConfig";
import { CONTAINER_NAME_RE, ENV_KEY_RE, isObject } from "../imageSpec/fields";
import type { ResolvedSpec } from "../imageSpec/validate";

/**
 * Stack config (`cybernode:*` in stacks/Pulumi.<stack>.yaml), validated as a whole before any
 * resource is declared. Pure: takes the raw values and what it needs to know, returns a plan or
 * throws an InputError naming the stack file and every bad key.
 */
export interface StackPlan {
  stack: string;
  host: string;
  uid: number;
  dataRoot: string;
  selinux: boolean;
  buildOn: "local" | "host";
  baseImages: Record<string, string>;
  /** Stack whose exported images this stack deploys exactly ("" when it builds its own). */
  promoteFrom: string;
  /** Registry run images are pushed to and pulled from by digest ("" = load directly). */
  registry: string;
  nodes: NodePlan[];
  /**
   * Every image the stack builds, sorted: `cybernode:images` (built even when no node runs them, e.g.
   * on a build host that pushes to a registry) plus the images of enabled nodes.
   */
  images: string[];
  /**
   * Values for the specs' `build.passEnv` variables on this stack's builds (e.g. a GOPROXY with a token);
   * they take precedence over the environment of the process running Pulumi.
   */
  buildEnv: Record<string, string>;
  /** Nodes go to this Kubernetes cluster as StatefulSets instead of Docker containers on `host`. */
  kubernetes?: KubernetesTarget;
  /** The Docker network the stack's nodes join, reaching each other by node name ("" on Kubernetes). */
  network: string;
  /** `cybernode:sharedSecrets`: made once on the host, mounted read-only by the nodes that list them. */
  sharedSecrets: SharedSecret[];
}

export interface StackContext {
  stack: string;
  /** For messages: `stacks/Pulumi.<stack>.yaml`. */
  stackFile: string;
  /** Image specs by name. */
  specs: Map<string, ResolvedSpec>;
  /** uid of the local user `cyber`, if it exists (default for cybernode:uid). */
  cyberUid: number | null;
  /** Config keys (without prefix) that are stored as secrets. */
  secretKeys: Set<string>;
}

const KEYS = [
  "host",
  "uid",
  "dataRoot",
  "selinux",
  "buildOn",
  "baseImages",
  "nodes",
  "images",
  "buildEnv",
  "imagesDirs",
  "promoteFrom",
  "registry",
  "kubernetes",
  "network",
  "sharedSecrets",
];

/**
 * Whether a stack's raw config declares images or nodes, the provider plugin's work, read before it is
 * validated (a malformed value counts as work: the validator reports it). Pure.
 */
export function declaresPluginWork(raw: Record<string, unknown>): boolean {
  const some = (v: unknown) => {
    const p = parseValue(v);
    if (typeof p === "string") return p.trim() !== "";
    return Array.isArray(p) ? p.length > 0 : typeof p === "object" && p !== null && Object.keys(p).length > 0;
  };
  return some(raw.images) || some(raw.nodes);
}

/** Config values arrive as strings (plain keys) or JSON (objects); both are accepted. */
function parseValue(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

import {
  type Bad,
  parseBaseImages,
  parseBool,
  parseBuildOn,
  parseDataRoot,
  parseHost,
  parsePromoteFrom,
  parseRegistry,
  parseUid,
} from "./stackKeys";

/**
 * Checks the whole stack config and plans it: one parser per key (below, in the order their values are
 * needed), then the checks across keys. Throws an InputError listing every problem.
 */
export function validateStackConfig(raw: Record<string, unknown>, ctx: StackContext): StackPlan {
  const problems: string[] = [];
  const bad: Bad = (key, what) => problems.push(`cybernode:${key}: ${what}`);
  const get = (k: string) => parseValue(raw[k]);

  const host = parseHost(get("host"), bad);
  const uid = parseUid(get("uid"), ctx.cyberUid, bad);
  const dataRoot = parseDataRoot(get("dataRoot"), bad);
  const selinux = parseBool("selinux", get("selinux"), false, bad);
  const buildOn = parseBuildOn(get("buildOn"), bad);
  const baseImages = parseBaseImages(get("baseImages"), bad);
  const promoteFrom = parsePromoteFrom(get("promoteFrom"), ctx.stack, bad);
  const registry = parseRegistry(get("registry"), bad);
  const kubeRaw = get("kubernetes");
  const kubernetes = kubeRaw === undefined ? undefined : parseKubernetesTarget(kubeRaw, registry, bad);
  const network = parseNetwork(get("network"), ctx.stack, kubernetes !== undefined, bad);
  const sharedSecrets = parseSharedSecrets(get("sharedSecrets"), bad);
  const nodesRaw = get("nodes") ?? {};
  const { nodes, disabled } = parseNodes(nodesRaw, ctx, raw, bad);

  linkProblems(nodes, sharedSecrets, disabled, ctx.specs, bad);
  for (const n of nodes) n.sharedSecrets = sharedSecrets.filter((s) => n.secretNames.includes(s.name));
  if (kubernetes) for (const n of nodes) for (const [k, what] of kubernetesNodeProblems(n)) bad(k, what);
  if (uid === null && nodes.length > 0)
    bad("uid", "not set and this machine has no user 'cyber': set it with: pulumi config set cybernode:uid 1000");

  const images = parseImages(get("images"), nodes, ctx, bad);
  const buildEnv = parseBuildEnv(get("buildEnv"), images, ctx, bad);
  unknownKeys(raw, nodesRaw, nodes, ctx, bad);

  if (problems.length > 0) throw new InputError(`stack file ${ctx.stackFile}`, [...new Set(problems)]);
  return {
    stack: ctx.stack,
    host,
    uid: uid ?? -1,
    dataRoot,
    selinux,
    buildOn,
    baseImages,
    promoteFrom,
    registry,
    nodes,
    images,
    buildEnv,
    ...(kubernetes ? { kubernetes } : {}),
    network,
    sharedSecrets,
  };
}

/** The enabled nodes (each checked against its spec; no host port twice) and the names of the disabled ones. */
function parseNodes(
  nodesRaw: unknown,
  ctx: StackContext,
  raw: Record<string, unknown>,
  bad: Bad,
): { nodes: NodePlan[]; disabled: Set<string> } {
  const nodes: NodePlan[] = [];
  const disabled = new Set<string>();
  if (!isObject(nodesRaw)) {
    bad("nodes", "must be a map of container name → { image, ports, args, env, restart, enabled }");
    return { nodes, disabled };
  }
  const hostPorts = new Map<string, string>();
  for (const [name, n] of Object.entries(nodesRaw)) {
    const k = `nodes.${name}`;
    if (!CONTAINER_NAME_RE.test(name)) bad(k, `'${name}' is not a valid container name (letters, digits, '.', '_', '-')`);
    if (!isObject(n)) {
      bad(k, "must be an object with at least { image: group/name }");
      continue;
    }
    if (n.enabled !== undefined && typeof n.enabled !== "boolean") bad(`${k}.enabled`, "must be true or false");
    if (n.enabled === false) {
      disabled.add(name);
      continue;
    }
    const node = parseNode(name, n, k, ctx, raw, bad);
    if (!node) continue;
    for (const p of node.ports) {
      const key = `${p.hostPort}/${p.protocol}`;
      const other = hostPorts.get(key);
      if (other) bad(`${k}.ports`, `host port ${key} is already used by node '${other}'`);
      else hostPorts.set(key, name);
    }
    nodes.push(node);
  }
  return { nodes, disabled };
}

/** Every image the stack builds, sorted: the enabled nodes' and `cybernode:images` (built even when no node runs them). */
function parseImages(v: unknown, nodes: NodePlan[], ctx: StackContext, bad: Bad): string[] {
  const images = new Set(nodes.map((n) => n.image));
  if (v !== undefined) {
    if (!Array.isArray(v)) bad("images", `${JSON.stringify(v)} must be a list of image names, e.g. [fullnode/btcd, fullnode/fixnode]`);
    else
      v.forEach((name, i) => {
        if (typeof name !== "string" || !ctx.specs.has(name)) {
          const known = [...ctx.specs.keys()].sort().join(", ") || "(none)";
          bad(`images[${i}]`, `${JSON.stringify(name)} is not an image spec of this stack's imagesDirs; known: ${known}`);
        } else if (v.indexOf(name) !== i) bad(`images[${i}]`, `${name} is listed twice`);
        else images.add(name);
      });
  }
  return [...images].sort();
}

/** buildEnv: each name must be passed through by an image this stack builds (catches typos). */
function parseBuildEnv(v: unknown, images: string[], ctx: StackContext, bad: Bad): Record<string, string> {
  const buildEnv: Record<string, string> = {};
  if (v === undefined) return buildEnv;
  const passed = new Set(images.flatMap((name) => ctx.specs.get(name)?.build.passEnv ?? []));
  if (!isObject(v)) bad("buildEnv", 'must be a map of variable → value, e.g. { "GOPROXY": "https://proxy.example.com" }');
  else
    for (const [k, x] of Object.entries(v)) {
      if (!ENV_KEY_RE.test(k)) bad(`buildEnv.${k}`, `'${k}' is not a valid environment variable name`);
      else if (typeof x !== "string") bad(`buildEnv.${k}`, `${JSON.stringify(x)} must be a string`);
      else if (x.includes("\0")) bad(`buildEnv.${k}`, "value contains a NUL byte");
      else if (!passed.has(k))
        bad(
          `buildEnv.${k}`,
          `no image this stack builds passes ${k} through (build.passEnv)${passed.size ? `; they pass: ${[...passed].sort().join(", ")}` : ""}`,
        );
      else buildEnv[k] = x;
    }
  return buildEnv;
}

/** Any other key must be a secret, or a value node args use (${secret:…} in plain text is reported by parseNode). */
function unknownKeys(raw: Record<string, unknown>, nodesRaw: unknown, nodes: NodePlan[], ctx: StackContext, bad: Bad): void {
  const referenced = new Set([
    ...nodes.flatMap((n) => n.secrets),
    ...(isObject(nodesRaw) ? Object.values(nodesRaw).flatMap(configRefs) : []),
    ...nodes.flatMap((n) => configRefs({ args: ctx.specs.get(n.image)?.container.args })),
  ]);
  for (const k of Object.keys(raw)) {
    if (KEYS.includes(k) || ctx.secretKeys.has(k) || referenced.has(k)) continue;
    const near = KEYS.find((known) => known.toLowerCase().slice(0, 4) === k.toLowerCase().slice(0, 4));
    bad(
      k,
      `unknown key${near ? ` (did you mean cybernode:${near}?)` : ""}; known keys: ${KEYS.join(", ")}, plus secrets set with --secret`,
    );
  }
}
