import { isObject, SECRET_FILE_RE } from "../imageSpec/fields";
import { type Health, templateProblem } from "../imageSpec/operate";
import type { ResolvedSpec } from "../imageSpec/validate";

/**
 * What ties a stack's nodes together: the network they share (reached by node name), the secrets they
 * share (`cybernode:sharedSecrets`, mounted read-only at /cybersecrets/<file>) and the order they start
 * in (`after:`). Pure: every rule is decided here from the stack file's values, before anything is
 * declared, and reported with its key.
 */

type Report = (key: string, what: string) => void;

/** One `cybernode:sharedSecrets` entry: made once on the host, mounted by the nodes that list it. */
export interface SharedSecret {
  /** The key in cybernode:sharedSecrets, e.g. `engine-jwt`; names its host folder and its Kubernetes Secret. */
  name: string;
  /** File name inside /cybersecrets, e.g. `jwt.hex`. */
  file: string;
  /** Its text, each `${random}` 32 random bytes as 64 hex digits. */
  template: string;
}

/** Where a node reads a shared secret. */
export const SECRETS_DIR = "/cybersecrets";

/** A secret's name: also a folder name on the host and a Kubernetes object name (DNS label). */
const SECRET_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/;
/** A Docker network name; the engine's own networks are not the stack's to take. */
const NETWORK_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENGINE_NETWORKS = new Set(["bridge", "host", "none", "podman", "default"]);

/** The network every node of a Docker or Podman stack joins: `cybernode:network`, or `cybernode-<stack>`. */
export function parseNetwork(v: unknown, stack: string, kubernetes: boolean, bad: Report): string {
  if (kubernetes) {
    if (v !== undefined)
      bad("network", "a Kubernetes stack's nodes share its namespace and reach each other by Service name; remove cybernode:network");
    return "";
  }
  if (v === undefined) return `cybernode-${stack}`;
  if (typeof v !== "string" || !NETWORK_RE.test(v)) {
    bad("network", `${JSON.stringify(v)} is not a network name (letters, digits, '.', '_', '-'; at most 63), e.g. cybernode-${stack}`);
    return "";
  }
  if (ENGINE_NETWORKS.has(v)) {
    bad(
      "network",
      `'${v}' is the engine's own network, shared with every container on the host; name one for this stack, e.g. cybernode-${stack}`,
    );
    return "";
  }
  return v;
}

const SECRET_EXAMPLE = '{ engine-jwt: { file: jwt.hex, template: "${random}" } }';

/** `cybernode:sharedSecrets`: name → { file, template }. */
export function parseSharedSecrets(v: unknown, bad: Report): SharedSecret[] {
  if (v === undefined) return [];
  if (!isObject(v)) {
    bad("sharedSecrets", `must be a map of secret name → { file, template }, e.g. ${SECRET_EXAMPLE}`);
    return [];
  }
  const out: SharedSecret[] = [];
  for (const [name, s] of Object.entries(v)) {
    const k = `sharedSecrets.${name}`;
    if (!SECRET_NAME_RE.test(name)) {
      bad(k, `'${name}' is not a secret name: lower-case letters, digits and '-', at most 52 (it names a folder and a Kubernetes Secret)`);
      continue;
    }
    if (!isObject(s)) {
      bad(k, `must be { file, template }, e.g. ${SECRET_EXAMPLE}`);
      continue;
    }
    for (const extra of Object.keys(s))
      if (extra !== "file" && extra !== "template") bad(`${k}.${extra}`, "unknown field (file, template)");
    const file = s.file;
    const template = s.template ?? "${random}";
    let ok = true;
    if (typeof file !== "string" || !SECRET_FILE_RE.test(file)) {
      bad(`${k}.file`, `${JSON.stringify(file)} must be a plain file name such as jwt.hex (letters, digits, '.', '_', '-'; no '/')`);
      ok = false;
    }
    const problem = templateProblem(template);
    if (problem) {
      bad(`${k}.template`, problem);
      ok = false;
    } else if (!(template as string).includes("${random}")) {
      bad(`${k}.template`, 'has no ${random}: a shared secret needs a random part (e.g. "${random}" for a JWT secret)');
      ok = false;
    }
    if (ok) out.push({ name, file: file as string, template: template as string });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A node's list of names (`after`, `secrets`): strings, no duplicates. */
export function nameList(key: string, v: unknown, bad: Report): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "" || x.includes("\0"))) {
    bad(key, "must be a list of names, e.g. [geth]");
    return [];
  }
  const seen = new Set<string>();
  for (const x of v as string[]) {
    if (seen.has(x)) bad(key, `'${x}' is listed twice`);
    seen.add(x);
  }
  return [...seen];
}

/** What the link checks need of a node. */
export interface LinkedNode {
  name: string;
  image: string;
  after: string[];
  /** Names in its `secrets:` list. */
  secretNames: string[];
}

/**
 * Cross-checks of the nodes' links: each `after` names another enabled node and none runs in a circle;
 * each listed secret exists, two of a node's secrets do not share a file name, and the node has every
 * file its image reads from /cybersecrets (`container.sharedSecretFiles` in its spec). Pure.
 */
export function linkProblems(
  nodes: LinkedNode[],
  secrets: SharedSecret[],
  disabled: Set<string>,
  specs: Map<string, ResolvedSpec>,
  bad: Report,
): void {
  const names = new Set(nodes.map((n) => n.name));
  const byName = new Map(secrets.map((s) => [s.name, s]));
  for (const n of nodes) {
    const k = `nodes.${n.name}`;
    for (const a of n.after) {
      if (a === n.name) bad(`${k}.after`, `node '${a}' cannot start after itself`);
      else if (disabled.has(a)) bad(`${k}.after`, `node '${a}' is disabled (enabled: false), so '${n.name}' would wait for it forever`);
      else if (!names.has(a)) bad(`${k}.after`, `'${a}' is not a node of this stack; nodes: ${[...names].sort().join(", ")}`);
    }
    const files = new Map<string, string>();
    for (const s of n.secretNames) {
      const secret = byName.get(s);
      if (!secret) {
        const known = [...byName.keys()].join(", ");
        bad(
          `${k}.secrets`,
          `'${s}' is not in cybernode:sharedSecrets (${known ? `known: ${known}` : `declare it, e.g. ${SECRET_EXAMPLE}`})`,
        );
        continue;
      }
      const other = files.get(secret.file);
      if (other) bad(`${k}.secrets`, `'${s}' and '${other}' both mount ${SECRETS_DIR}/${secret.file}; give one another file name`);
      files.set(secret.file, s);
    }
    for (const needed of specs.get(n.image)?.container.sharedSecretFiles ?? [])
      if (!files.has(needed)) {
        const offer = secrets.find((s) => s.file === needed);
        bad(
          `${k}.secrets`,
          `image ${n.image} reads ${SECRETS_DIR}/${needed}: ` +
            (offer
              ? `add the shared secret that makes it: secrets: [${offer.name}]`
              : `declare a shared secret with that file, e.g. cybernode:sharedSecrets: { engine-jwt: { file: ${needed}, template: "\${random}" } }, and list it: secrets: [engine-jwt]`),
        );
      }
  }
  const cycle = afterCycle(nodes);
  if (cycle) bad(`nodes.${cycle[0]}.after`, `nodes wait for each other in a circle (${cycle.join(" → ")}): none could start`);
}

/** The first circle in the `after` graph (e.g. [a, b, a]), or null. Pure. */
export function afterCycle(nodes: { name: string; after: string[] }[]): string[] | null {
  const after = new Map(nodes.map((n) => [n.name, n.after.filter((a) => a !== n.name)]));
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === "done" || !after.has(name)) return null;
    if (state.get(name) === "visiting") return [...path.slice(path.indexOf(name)), name];
    state.set(name, "visiting");
    path.push(name);
    for (const a of after.get(name) ?? []) {
      const found = visit(a);
      if (found) return found;
    }
    path.pop();
    state.set(name, "done");
    return null;
  };
  for (const n of [...after.keys()].sort()) {
    const found = visit(n);
    if (found) return found;
  }
  return null;
}

/** Nodes in an order where each comes after those it names (ties by name). Pure; assumes no circle. */
export function startOrder(nodes: { name: string; after: string[] }[]): string[] {
  const out: string[] = [];
  const placed = new Set<string>();
  const pending = [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1));
  while (pending.length) {
    const i = pending.findIndex((n) => n.after.every((a) => placed.has(a) || !pending.some((p) => p.name === a)));
    const [next] = pending.splice(i === -1 ? 0 : i, 1);
    out.push(next.name);
    placed.add(next.name);
  }
  return out;
}

/**
 * How long `up` waits for a node that others start after to turn healthy: its start period plus the
 * checks it may fail, with a minute to spare; null when it has no health check (then the others start
 * once it runs). Pure.
 */
export function healthWaitSeconds(health: Health | "image" | "off", imageHealth: Health | undefined): number | null {
  const h = health === "off" ? undefined : health === "image" ? imageHealth : health;
  if (!h) return null;
  return h.startPeriod + (h.retries + 1) * (h.interval + h.timeout) + 60;
}
