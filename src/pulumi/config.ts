import { posix } from "node:path";
import { InputError } from "../spec/errors";
import { REGISTRY_RE } from "../plan/registryRef";
import { CONTAINER_NAME_RE, isValidUid, type ResolvedSpec } from "../spec/validate";

/**
 * Stack config (`cybernode:*` in stacks/Pulumi.<stack>.yaml), validated as a whole before any
 * resource is declared. Pure: takes the raw values and what it needs to know, returns a plan or
 * throws an InputError naming the stack file and every bad key.
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

const KEYS = ["host", "uid", "dataRoot", "selinux", "buildOn", "baseImages", "nodes", "imagesDirs", "promoteFrom", "registry"];
const RESTART_RE = /^(no|always|unless-stopped|on-failure(:[1-9][0-9]*)?)$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const SECRET_REF_RE = /\$\{secret:([A-Za-z][A-Za-z0-9_]*)\}/g;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function validateStackConfig(raw: Record<string, unknown>, ctx: StackContext): StackPlan {
  const problems: string[] = [];
  const bad = (key: string, what: string) => problems.push(`cybernode:${key}: ${what}`);
  const get = (k: string) => parseValue(raw[k]);


  // host
  const hostRaw = get("host") ?? "unix:///var/run/docker.sock";
  let host = "";
  if (typeof hostRaw !== "string" || hostRaw === "") bad("host", "must be a Docker host URL such as unix:///var/run/docker.sock or ssh://cyber@node1");
  else if (!/^(unix:\/\/\/.+|tcp:\/\/[^/\s]+|ssh:\/\/[^/\s@]+@[^/\s]+|ssh:\/\/[^/\s]+|npipe:\/\/.+)$/.test(hostRaw)) bad("host", `'${hostRaw}' has an unsupported scheme or form; use unix:///path, tcp://host:port or ssh://user@host[:port]`);
  else host = hostRaw;

  // uid
  let uid = -1;
  const uidRaw = get("uid");
  if (uidRaw === undefined) {
    if (ctx.cyberUid === null) bad("uid", "not set and this machine has no user 'cyber': set it with: pulumi config set cybernode:uid 1000");
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
  if (typeof dataRootRaw !== "string" || dataRootRaw.trim() === "") bad("dataRoot", "must be an absolute folder such as /home/cyber/cyberdata");
  else if (!dataRootRaw.startsWith("/")) bad("dataRoot", `'${dataRootRaw}' is relative; give an absolute folder such as /home/cyber/cyberdata`);
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
  if (buildOnRaw !== "local" && buildOnRaw !== "host") bad("buildOn", `${JSON.stringify(buildOnRaw)} must be 'local' (build here, load onto the host) or 'host' (build on the target)`);

  const baseImages: Record<string, string> = {};
  const bi = get("baseImages");
  if (bi !== undefined) {
    if (!isObject(bi)) bad("baseImages", 'must be a map of image → local image, e.g. { "golang:1.26-bookworm": "local/golang:1.26" }');
    else for (const [k, v] of Object.entries(bi)) typeof v === "string" && v !== "" ? (baseImages[k] = v) : bad(`baseImages.${k}`, "must name a local image");
  }

  let promoteFrom = "";
  const pf = get("promoteFrom");
  if (pf !== undefined) {
    if (typeof pf !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(pf)) bad("promoteFrom", `${JSON.stringify(pf)} must be the name of another stack, e.g. staging`);
    else if (pf === ctx.stack) bad("promoteFrom", `stack ${ctx.stack} cannot promote from itself; name the stack whose tested images it should run, e.g. staging`);
    else promoteFrom = pf;
  }

  let registry = "";
  const reg = get("registry");
  if (reg !== undefined) {
    if (typeof reg !== "string" || !REGISTRY_RE.test(reg)) bad("registry", `${JSON.stringify(reg)} is not a registry address; write host[:port][/path], e.g. registry.example.com:5000/cybernode (no scheme)`);
    else registry = reg;
  }

  // nodes
  const nodes: NodePlan[] = [];
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
      if (n.enabled === false) continue;
      const image = n.image;
      const spec = typeof image === "string" ? ctx.specs.get(image) : undefined;
      if (typeof image !== "string" || !spec) {
        bad(`${k}.image`, `unknown image spec ${JSON.stringify(image)}; known: ${[...ctx.specs.keys()].join(", ") || "(none)"}`);
        continue;
      }
      if (nodes.some((x) => x.name === name)) bad(k, `two nodes are named '${name}'`);
      const restart = n.restart ?? spec.container.restart;
      if (typeof restart !== "string" || !RESTART_RE.test(restart)) bad(`${k}.restart`, `${JSON.stringify(n.restart)} must be one of no, always, unless-stopped, on-failure[:N]`);
      let ports: NodePort[] = spec.container.ports.map((p) => ({ ...p }));
      if (n.ports !== undefined) {
        if (!Array.isArray(n.ports)) bad(`${k}.ports`, 'must be a list such as ["8333:8333", "127.0.0.1:8334:8334"]');
        else {
          ports = [];
          n.ports.forEach((p, i) => {
            const parsed = typeof p === "string" || typeof p === "number" ? parsePortMapping(String(p)) : `${JSON.stringify(p)} is not a port mapping`;
            if (typeof parsed === "string") bad(`${k}.ports[${i}]`, parsed);
            else ports.push(parsed);
          });
        }
      }
      for (const p of ports) {
        const key = `${p.hostPort}/${p.protocol}`;
        const other = hostPorts.get(key);
        if (other) bad(`${k}.ports`, `host port ${key} is already used by node '${other}'`);
        else hostPorts.set(key, name);
      }
      const args: string[] = [...spec.container.args];
      if (n.args !== undefined) {
        if (!Array.isArray(n.args) || n.args.some((a) => typeof a !== "string")) bad(`${k}.args`, "must be a list of strings");
        else if ((n.args as string[]).some((a) => a.includes("\0"))) bad(`${k}.args`, "contains a NUL byte, which no command line can carry");
        else args.push(...(n.args as string[]));
      }
      const secrets = [...new Set(args.flatMap((a) => [...a.matchAll(SECRET_REF_RE)].map((m) => m[1])))];
      // A placeholder the pattern does not take (e.g. ${secret:my-pass}) would reach the node verbatim, as its password.
      for (const m of args.flatMap((a) => [...a.matchAll(/\$\{secret:([^}]*)\}/g)])) if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(m[1])) bad(`${k}.args`, `'${m[0]}' is not a secret reference: keys are a letter then letters, digits or _ (e.g. \${secret:btcdRpcPass})`);
      for (const s of secrets) {
        if (raw[s] === undefined) bad(`${k}.args`, `uses \${secret:${s}} but cybernode:${s} is not set: pulumi config set --secret cybernode:${s} <value>`);
        else if (!ctx.secretKeys.has(s)) bad(s, `is given in plain text but node '${name}' uses it as a secret: pulumi config set --secret cybernode:${s} <value>`);
      }
      const env: [string, string][] = [];
      if (n.env !== undefined) {
        if (!isObject(n.env)) bad(`${k}.env`, "must be a map of NAME: value");
        else
          for (const [ek, ev] of Object.entries(n.env)) {
            if (!ENV_KEY_RE.test(ek)) bad(`${k}.env.${ek}`, "is not a valid environment variable name");
            else if (typeof ev !== "string") bad(`${k}.env.${ek}`, "value must be a string");
            else if (ev.includes("\0")) bad(`${k}.env.${ek}`, "value contains a NUL byte");
            else env.push([ek, ev]);
          }
      }
      const labels: [string, string][] = [];
      if (n.labels !== undefined) {
        if (!isObject(n.labels)) bad(`${k}.labels`, "must be a map of label: value");
        else
          for (const [lk, lv] of Object.entries(n.labels)) {
            if (lk === "" || /\s/.test(lk) || lk.startsWith("cybernode.")) bad(`${k}.labels.${lk}`, "label keys must be non-empty, without spaces, and not start with cybernode.");
            else if (typeof lv !== "string") bad(`${k}.labels.${lk}`, "value must be a string");
            else labels.push([lk, lv]);
          }
      }
      const security = { ...DEFAULT_SECURITY };
      for (const flag of ["readOnlyRoot", "noNewPrivileges"] as const) {
        if (n[flag] === undefined) continue;
        if (typeof n[flag] !== "boolean") bad(`${k}.${flag}`, "must be true or false");
        else security[flag] = n[flag] as boolean;
      }
      for (const list of ["capDrop", "capAdd"] as const) {
        if (n[list] === undefined) continue;
        if (!Array.isArray(n[list]) || (n[list] as unknown[]).some((c) => typeof c !== "string" || !CAP_RE.test(c.replace(/^CAP_/, "")))) bad(`${k}.${list}`, 'must be a list of capability names such as ["NET_BIND_SERVICE"]');
        else security[list] = (n[list] as string[]).map((c) => c.replace(/^CAP_/, ""));
      }
      if (n.tmpSize !== undefined) {
        if (typeof n.tmpSize !== "string" || !/^\d+[kmg]?$/.test(n.tmpSize)) bad(`${k}.tmpSize`, 'must be a size such as "64m"');
        else security.tmpSize = n.tmpSize;
      }
      const FIELDS = ["image", "ports", "args", "env", "labels", "restart", "enabled", "readOnlyRoot", "noNewPrivileges", "capDrop", "capAdd", "tmpSize"];
      for (const extra of Object.keys(n)) if (!FIELDS.includes(extra)) bad(`${k}.${extra}`, `unknown field (${FIELDS.join(", ")})`);
      nodes.push({ name, image, ports, args, env: env.sort(([a], [b]) => (a < b ? -1 : 1)), labels: labels.sort(([a], [b]) => (a < b ? -1 : 1)), restart: String(restart), secrets, security });
    }
  }

  // Any other key must be a secret (or be used as one, which is reported above when it is plain).
  const referenced = new Set(nodes.flatMap((n) => n.secrets));
  for (const k of Object.keys(raw)) {
    if (KEYS.includes(k) || ctx.secretKeys.has(k) || referenced.has(k)) continue;
    const near = KEYS.find((known) => known.toLowerCase().slice(0, 4) === k.toLowerCase().slice(0, 4));
    bad(k, `unknown key${near ? ` (did you mean cybernode:${near}?)` : ""}; known keys: ${KEYS.join(", ")}, plus secrets set with --secret`);
  }

  if (problems.length > 0) throw new InputError(`stack file ${ctx.stackFile}`, problems);
  return { stack: ctx.stack, host, uid, dataRoot, selinux, buildOn: buildOnRaw as "local" | "host", baseImages, promoteFrom, registry, nodes };
}

/** Fills `${secret:key}` placeholders. Pure; the caller wraps the result as a Pulumi secret. */
export function fillSecrets(arg: string, values: Record<string, string>): string {
  return arg.replace(SECRET_REF_RE, (_m, key: string) => values[key] ?? "");
}
