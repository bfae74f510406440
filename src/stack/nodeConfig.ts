import type { ResolvedSpec } from "../imageSpec/validate";
import { fieldChecks, IPV4_RE } from "../imageSpec/fields";
import type { StackContext } from "./config";
import { OPERATION_FIELDS, parseOperation, type NodeOperation } from "./nodeOperation";
import { healthWaitSeconds, nameList, type SharedSecret } from "./nodeLinks";

/**
 * One entry of `cybernode:nodes`, checked against its image spec's container defaults. Pure; problems
 * go to `bad` with the key they concern (`nodes.<name>.<field>`).
 */
export interface NodePort {
  port: number;
  hostPort: number;
  bind: string;
  protocol: "tcp" | "udp";
}

export interface NodePlan {
  /** Container name, e.g. `btcd` (the key in cybernode:nodes). */
  name: string;
  /** Image spec name, e.g. `fullnode/btcd`. */
  image: string;
  ports: NodePort[];
  /** Arguments after the entrypoint; `${secret:key}` placeholders are filled from secret config. */
  args: string[];
  env: [string, string][];
  /** Extra container labels. */
  labels: [string, string][];
  restart: string;
  /** Config keys (without `cybernode:`) this node's args read as secrets. */
  secrets: string[];
  /** Hardening, each on by default and overridable per node. */
  security: NodeSecurity;
  /** Stop signal and grace, health check, status command, limits and log rotation. */
  operation: NodeOperation;
  /** Files made once in the node's data folder (from the spec): name → template with ${random}. */
  secretFiles: [string, string][];
  /** Nodes this one starts after (once they are healthy, where they have a health check). */
  after: string[];
  /** Names listed in its `secrets:`; resolved into sharedSecrets once every node is read. */
  secretNames: string[];
  /** Shared secrets mounted read-only at /cybersecrets/<file>. */
  sharedSecrets: SharedSecret[];
  /** Seconds `up` waits for it to turn healthy before starting the nodes after it; null: no health check. */
  healthWait: number | null;
}

export interface NodeSecurity {
  /** Read-only root filesystem: only /cyberdata and a tmpfs /tmp are writable. */
  readOnlyRoot: boolean;
  /** `no-new-privileges`: setuid binaries cannot raise privileges. */
  noNewPrivileges: boolean;
  /** Linux capabilities dropped (default all) and added back. */
  capDrop: string[];
  capAdd: string[];
  /** Size of the tmpfs at /tmp (when the root is read-only). */
  tmpSize: string;
}

export const DEFAULT_SECURITY: NodeSecurity = { readOnlyRoot: true, noNewPrivileges: true, capDrop: ["ALL"], capAdd: [], tmpSize: "64m" };
const CAP_RE = /^(ALL|[A-Z_]+)$/;

export const SECRET_REF_RE = /\$\{secret:([A-Za-z][A-Za-z0-9_]*)\}/g;
/** `${config:key}`: a plain stack value put into an arg when the stack is read (e.g. a checkpoint sync URL). */
export const CONFIG_REF_RE = /\$\{config:([^}]*)\}/g;

/** Parses a port mapping as `docker run -p` takes it: [ip:]hostPort:containerPort[/proto] or containerPort. */
export function parsePortMapping(text: string, defaultBind = "0.0.0.0"): NodePort | string {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(?:(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  if (!m) return `'${text}' is not a port mapping; write 8333, "8333:8333" or "127.0.0.1:8334:8334"`;
  const bind = m[1] ?? defaultBind;
  if (!IPV4_RE.test(bind)) return `'${bind}' in '${text}' is not an IPv4 address`;
  const port = Number(m[3]);
  const hostPort = m[2] === undefined ? port : Number(m[2]);
  for (const p of [port, hostPort]) if (p < 1 || p > 65535) return `port ${p} in '${text}' is outside 1-65535`;
  return { port, hostPort, bind, protocol: (m[4] as "tcp" | "udp" | undefined) ?? "tcp" };
}

/** The fields a node of cybernode:nodes may have. */
const FIELDS = [
  "image",
  "ports",
  "args",
  "env",
  "labels",
  "restart",
  "enabled",
  "readOnlyRoot",
  "noNewPrivileges",
  "capDrop",
  "capAdd",
  "tmpSize",
  "after",
  "secrets",
  ...OPERATION_FIELDS,
];

/** `ports` as a stack file writes them (docker run -p forms). */
function parsePorts(v: unknown, k: string, bad: (key: string, what: string) => void): NodePort[] {
  if (!Array.isArray(v)) {
    bad(`${k}.ports`, 'must be a list such as ["8333:8333", "127.0.0.1:8334:8334"]');
    return [];
  }
  const ports: NodePort[] = [];
  v.forEach((p, i) => {
    const parsed =
      typeof p === "string" || typeof p === "number" ? parsePortMapping(String(p)) : `${JSON.stringify(p)} is not a port mapping`;
    if (typeof parsed === "string") bad(`${k}.ports[${i}]`, parsed);
    else ports.push(parsed);
  });
  return ports;
}

/** The node's hardening: each default on, overridable per node. */
function parseSecurity(n: Record<string, unknown>, k: string, bad: (key: string, what: string) => void): NodeSecurity {
  const security = { ...DEFAULT_SECURITY };
  for (const flag of ["readOnlyRoot", "noNewPrivileges"] as const) {
    if (n[flag] === undefined) continue;
    if (typeof n[flag] !== "boolean") bad(`${k}.${flag}`, "must be true or false");
    else security[flag] = n[flag] as boolean;
  }
  for (const list of ["capDrop", "capAdd"] as const) {
    if (n[list] === undefined) continue;
    if (!Array.isArray(n[list]) || (n[list] as unknown[]).some((c) => typeof c !== "string" || !CAP_RE.test(c.replace(/^CAP_/, ""))))
      bad(`${k}.${list}`, 'must be a list of capability names such as ["NET_BIND_SERVICE"]');
    else security[list] = (n[list] as string[]).map((c) => c.replace(/^CAP_/, ""));
  }
  if (n.tmpSize !== undefined) {
    if (typeof n.tmpSize !== "string" || !/^\d+[kmg]?$/.test(n.tmpSize)) bad(`${k}.tmpSize`, 'must be a size such as "64m"');
    else security.tmpSize = n.tmpSize;
  }
  return security;
}

export function parseNode(
  name: string,
  n: Record<string, unknown>,
  k: string,
  ctx: StackContext,
  raw: Record<string, unknown>,
  bad: (key: string, what: string) => void,
): NodePlan | null {
  const image = n.image;
  const spec = typeof image === "string" ? ctx.specs.get(image) : undefined;
  if (typeof image !== "string" || !spec) {
    bad(`${k}.image`, `unknown image spec ${JSON.stringify(image)}; known: ${[...ctx.specs.keys()].join(", ") || "(none)"}`);
    return null;
  }
  const check = fieldChecks(bad);
  const restart = n.restart === undefined ? spec.container.restart : check.restart(`${k}.restart`, n.restart);
  const ports = n.ports === undefined ? spec.container.ports.map((p) => ({ ...p })) : parsePorts(n.ports, k, bad);
  const args: string[] = [...spec.container.args, ...check.strings(`${k}.args`, n.args)].map((a) =>
    fillConfig(a, `${k}.args`, spec, ctx, raw, bad),
  );
  const secrets = [...new Set(args.flatMap((a) => [...a.matchAll(SECRET_REF_RE)].map((m) => m[1])))];
  // A placeholder the pattern does not take (e.g. ${secret:my-pass}) would reach the node verbatim, as its password.
  for (const m of args.flatMap((a) => [...a.matchAll(/\$\{secret:([^}]*)\}/g)]))
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(m[1]))
      bad(`${k}.args`, `'${m[0]}' is not a secret reference: keys are a letter then letters, digits or _ (e.g. \${secret:btcdRpcPass})`);
  for (const s of secrets) {
    if (raw[s] === undefined)
      bad(`${k}.args`, `uses \${secret:${s}} but cybernode:${s} is not set: pulumi config set --secret cybernode:${s} <value>`);
    else if (!ctx.secretKeys.has(s))
      bad(s, `is given in plain text but node '${name}' uses it as a secret: pulumi config set --secret cybernode:${s} <value>`);
  }
  const env = check.envMap(`${k}.env`, n.env);
  const labels = check.labelMap(`${k}.labels`, n.labels, {
    reserved: (lk) => (lk.startsWith("cybernode.") ? "cybernode.* labels are set by the program (node, image, stack)" : null),
    keyField: (lk) => `${k}.labels.${lk}`,
  });
  const security = parseSecurity(n, k, bad);
  for (const extra of Object.keys(n)) if (!FIELDS.includes(extra)) bad(`${k}.${extra}`, `unknown field (${FIELDS.join(", ")})`);
  const operation = parseOperation(n, k, spec, bad);
  return {
    name,
    image,
    ports,
    args,
    env: env.sort(([a], [b]) => (a < b ? -1 : 1)),
    labels: labels.sort(([a], [b]) => (a < b ? -1 : 1)),
    restart: String(restart),
    secrets,
    security,
    operation,
    secretFiles: spec.container.secretFiles,
    after: nameList(`${k}.after`, n.after, bad),
    secretNames: nameList(`${k}.secrets`, n.secrets, bad),
    sharedSecrets: [],
    healthWait: healthWaitSeconds(operation.health, spec.run.health),
  };
}

/**
 * Puts plain stack values into an arg (`${config:checkpointSyncUrl}`). A value that is not set is refused
 * with the image's help for it (`container.settings`); a secret one must be written `${secret:key}`.
 */
function fillConfig(
  arg: string,
  key: string,
  spec: ResolvedSpec,
  ctx: StackContext,
  raw: Record<string, unknown>,
  bad: (key: string, what: string) => void,
): string {
  return arg.replace(CONFIG_REF_RE, (ref, name: string) => {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      bad(key, `'${ref}' is not a config reference: keys are a letter then letters, digits or _ (e.g. \${config:checkpointSyncUrl})`);
      return ref;
    }
    const help = spec.container.settings[name];
    const v = raw[name];
    if (v === undefined || v === "") {
      bad(
        key,
        `uses ${ref} but cybernode:${name} is not set${help ? ` (${help})` : ""}: pulumi config set --stack ${ctx.stack} cybernode:${name} <value>`,
      );
      return ref;
    }
    if (ctx.secretKeys.has(name)) {
      bad(key, `${ref} would put the secret cybernode:${name} in plain view; write \${secret:${name}}`);
      return ref;
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      bad(name, `${JSON.stringify(v)} must be a single value: node args use it as ${ref}`);
      return ref;
    }
    if (String(v).includes("\0")) {
      bad(name, "contains a NUL byte");
      return ref;
    }
    return String(v);
  });
}

/** Config keys a node's own args (before the spec's) read with ${config:key}, so they are known keys. Pure. */
export function configRefs(n: unknown): string[] {
  if (!n || typeof n !== "object" || !Array.isArray((n as { args?: unknown }).args)) return [];
  return ((n as { args: unknown[] }).args as unknown[]).flatMap((a) =>
    typeof a === "string" ? [...a.matchAll(CONFIG_REF_RE)].map((m) => m[1]) : [],
  );
}

/** Fills `${secret:key}` placeholders. Pure; the caller wraps the result as a Pulumi secret. */
export function fillSecrets(arg: string, values: Record<string, string>): string {
  return arg.replace(SECRET_REF_RE, (_m, key: string) => values[key] ?? "");
}
