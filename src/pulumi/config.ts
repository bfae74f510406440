import { posix } from "node:path";
import { InputError } from "../spec/errors";
import { REGISTRY_RE } from "../plan/registryRef";
import { configRefs, parseNode, type NodePlan } from "./nodeConfig";
import { linkProblems, parseNetwork, parseSharedSecrets, type SharedSecret } from "./nodeLinks";
import { type KubernetesTarget, parseKubernetesTarget } from "./kubernetesConfig";
import { kubernetesNodeProblems } from "../kubernetes/nodeObjects";
export { fillSecrets, parsePortMapping, DEFAULT_SECURITY, type NodePlan, type NodePort, type NodeSecurity } from "./nodeConfig";
import { CONTAINER_NAME_RE, ENV_KEY_RE, isObject, isValidUid } from "../spec/fields";
import type { ResolvedSpec } from "../spec/validate";

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

export function validateStackConfig(raw: Record<string, unknown>, ctx: StackContext): StackPlan {
  const problems: string[] = [];
  const bad = (key: string, what: string) => problems.push(`cybernode:${key}: ${what}`);
  const get = (k: string) => parseValue(raw[k]);

  // host
  const hostRaw = get("host") ?? "unix:///var/run/docker.sock";
  let host = "";
  if (typeof hostRaw !== "string" || hostRaw === "")
    bad("host", "must be a Docker host URL such as unix:///var/run/docker.sock or ssh://cyber@node1");
  else if (!/^(unix:\/\/\/.+|tcp:\/\/[^/\s]+|ssh:\/\/[^/\s@]+@[^/\s]+|ssh:\/\/[^/\s]+|npipe:\/\/.+)$/.test(hostRaw))
    bad("host", `'${hostRaw}' has an unsupported scheme or form; use unix:///path, tcp://host:port or ssh://user@host[:port]`);
  else host = hostRaw;

  // uid
  let uid = -1;
  const uidRaw = get("uid");
  let uidMissing = false;
  if (uidRaw === undefined) {
    // Only nodes need a uid; an images-only stack (a build host) may have no user cyber.
    if (ctx.cyberUid === null) uidMissing = true;
    else uid = ctx.cyberUid;
  } else {
    const n = typeof uidRaw === "string" && /^\d+$/.test(uidRaw) ? Number(uidRaw) : uidRaw;
    if (!isValidUid(n)) bad("uid", `${JSON.stringify(uidRaw)} must be a non-negative whole number (the numeric uid of user cyber)`);
    else if (n === 0) bad("uid", "0 is root; fullnodes run as a non-root uid");
    else uid = n;
  }

  // dataRoot
  const dataRootRaw = get("dataRoot") ?? "/home/cyber/cyberdata";
  let dataRoot = "";
  if (typeof dataRootRaw !== "string" || dataRootRaw.trim() === "")
    bad("dataRoot", "must be an absolute folder such as /home/cyber/cyberdata");
  else if (!dataRootRaw.startsWith("/"))
    bad("dataRoot", `'${dataRootRaw}' is relative; give an absolute folder such as /home/cyber/cyberdata`);
  else if (dataRootRaw.split("/").includes("..")) bad("dataRoot", `'${dataRootRaw}' must not contain '..'`);
  else dataRoot = posix.normalize(dataRootRaw).replace(/\/$/, "") || "/";

  const bool = (key: string, dflt: boolean): boolean => {
    const v = get(key);
    if (v === undefined) return dflt;
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    bad(key, `${JSON.stringify(v)} must be true or false`);
    return dflt;
  };
  const selinux = bool("selinux", false);

  const buildOnRaw = get("buildOn") ?? "local";
  if (buildOnRaw !== "local" && buildOnRaw !== "host")
    bad("buildOn", `${JSON.stringify(buildOnRaw)} must be 'local' (build here, load onto the host) or 'host' (build on the target)`);

  const baseImages: Record<string, string> = {};
  const bi = get("baseImages");
  if (bi !== undefined) {
    if (!isObject(bi)) bad("baseImages", 'must be a map of image → local image, e.g. { "golang:1.26-bookworm": "local/golang:1.26" }');
    else
      for (const [k, v] of Object.entries(bi)) {
        if (typeof v === "string" && v !== "") baseImages[k] = v;
        else bad(`baseImages.${k}`, "must name a local image");
      }
  }

  let promoteFrom = "";
  const pf = get("promoteFrom");
  if (pf !== undefined) {
    if (typeof pf !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(pf))
      bad("promoteFrom", `${JSON.stringify(pf)} must be the name of another stack, e.g. staging`);
    else if (pf === ctx.stack)
      bad("promoteFrom", `stack ${ctx.stack} cannot promote from itself; name the stack whose tested images it should run, e.g. staging`);
    else promoteFrom = pf;
  }

  let registry = "";
  const reg = get("registry");
  if (reg !== undefined) {
    if (typeof reg !== "string" || !REGISTRY_RE.test(reg))
      bad(
        "registry",
        `${JSON.stringify(reg)} is not a registry address; write host[:port][/path], e.g. registry.example.com:5000/cybernode (no scheme)`,
      );
    else registry = reg;
  }

  const kubeRaw = get("kubernetes");
  const kubernetes = kubeRaw === undefined ? undefined : parseKubernetesTarget(kubeRaw, registry, bad);

  const network = parseNetwork(get("network"), ctx.stack, kubernetes !== undefined, bad);
  const sharedSecrets = parseSharedSecrets(get("sharedSecrets"), bad);

  // nodes
  const nodes: NodePlan[] = [];
  const disabled = new Set<string>();
  const nodesRaw = get("nodes") ?? {};
  if (!isObject(nodesRaw)) bad("nodes", "must be a map of container name → { image, ports, args, env, restart, enabled }");
  else {
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
  }

  linkProblems(nodes, sharedSecrets, disabled, ctx.specs, bad);
  for (const n of nodes) n.sharedSecrets = sharedSecrets.filter((s) => n.secretNames.includes(s.name));

  if (kubernetes) for (const n of nodes) for (const [k, what] of kubernetesNodeProblems(n)) bad(k, what);

  if (uidMissing && nodes.length > 0)
    bad("uid", "not set and this machine has no user 'cyber': set it with: pulumi config set cybernode:uid 1000");

  // images: built and published even when no node uses them.
  const images = new Set(nodes.map((n) => n.image));
  const imagesRaw = get("images");
  if (imagesRaw !== undefined) {
    if (!Array.isArray(imagesRaw))
      bad("images", `${JSON.stringify(imagesRaw)} must be a list of image names, e.g. [fullnode/btcd, fullnode/fixnode]`);
    else {
      imagesRaw.forEach((name, i) => {
        if (typeof name !== "string" || !ctx.specs.has(name)) {
          const known = [...ctx.specs.keys()].sort().join(", ") || "(none)";
          bad(`images[${i}]`, `${JSON.stringify(name)} is not an image spec of this stack's imagesDirs; known: ${known}`);
        } else if (imagesRaw.indexOf(name) !== i) bad(`images[${i}]`, `${name} is listed twice`);
        else images.add(name);
      });
    }
  }

  // buildEnv: each name must be passed through by an image this stack builds (catches typos).
  const buildEnv: Record<string, string> = {};
  const be = get("buildEnv");
  if (be !== undefined) {
    const passed = new Set([...images].flatMap((name) => ctx.specs.get(name)?.build.passEnv ?? []));
    if (!isObject(be)) bad("buildEnv", 'must be a map of variable → value, e.g. { "GOPROXY": "https://proxy.example.com" }');
    else
      for (const [k, v] of Object.entries(be)) {
        if (!ENV_KEY_RE.test(k)) bad(`buildEnv.${k}`, `'${k}' is not a valid environment variable name`);
        else if (typeof v !== "string") bad(`buildEnv.${k}`, `${JSON.stringify(v)} must be a string`);
        else if (v.includes("\0")) bad(`buildEnv.${k}`, "value contains a NUL byte");
        else if (!passed.has(k))
          bad(
            `buildEnv.${k}`,
            `no image this stack builds passes ${k} through (build.passEnv)${passed.size ? `; they pass: ${[...passed].sort().join(", ")}` : ""}`,
          );
        else buildEnv[k] = v;
      }
  }

  // Any other key must be a secret (or be used as one, which is reported above when it is plain).
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

  if (problems.length > 0) throw new InputError(`stack file ${ctx.stackFile}`, [...new Set(problems)]);
  return {
    stack: ctx.stack,
    host,
    uid,
    dataRoot,
    selinux,
    buildOn: buildOnRaw as "local" | "host",
    baseImages,
    promoteFrom,
    registry,
    nodes,
    images: [...images].sort(),
    buildEnv,
    ...(kubernetes ? { kubernetes } : {}),
    network,
    sharedSecrets,
  };
}
