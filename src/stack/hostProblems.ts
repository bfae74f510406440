/**
 * What `pulumi up` would fail on at a stack's host, decided before anything changes: host ports that
 * another process or another stack's container holds, and data folders that cannot be made (a read-only
 * file system, a file in the way). Pure: the facts (listening sockets, published ports, folder stats) are read elsewhere
 * (src/provider/hostCheck.ts) and passed in, so every rule is tested without a host.
 */

/** The plugin function the program invokes (src/provider/hostCheck.ts). */
export const CHECK_HOST_TOKEN = "cybernode-images:index:checkHost";

export interface CheckHostResult {
  kind: "docker" | "podman";
  version: string;
  /** Each names its stack-file key; empty when up can go ahead. */
  problems: string[];
}

export interface PortRequest {
  /** The stack-file key it comes from, e.g. `cybernode:nodes.btcd.ports`. */
  key: string;
  bind: string;
  hostPort: number;
  protocol: "tcp" | "udp";
}

export interface NodeRequest {
  name: string;
  ports: PortRequest[];
}

export interface HostCheckRequest {
  host: string;
  stack: string;
  dataRoot: string;
  uid: number;
  nodes: NodeRequest[];
  /** The network the stack's nodes join ("" or absent: none, e.g. an older program). */
  network?: string;
}

/** A socket bound on the host (from /proc/net/{tcp,tcp6,udp,udp6}). */
export interface Listener {
  protocol: "tcp" | "udp";
  address: string;
  port: number;
}

/** A host port a running container publishes (the engine's container list). */
export interface Published {
  container: string;
  /** Its cybernode.stack label, if any. */
  stack?: string;
  ip: string;
  port: number;
  protocol: "tcp" | "udp";
}

/** What is at a path: a folder, a file, or nothing; `writable` is the Pulumi user's access (error code when not). */
export interface PathFacts {
  path: string;
  kind: "dir" | "file" | "missing";
  uid?: number;
  mode?: number;
  /** "ok", or why this user cannot write there: EROFS, EACCES, … */
  writable?: string;
}

export interface HostFacts {
  /** Sockets and folders of this machine are the host's (a unix socket); false: not checked (ssh://, tcp://). */
  local: boolean;
  listeners: Listener[];
  published: Published[];
  dataRoot?: PathFacts;
  /** Per node folder; for a missing one, `ancestor` is the nearest folder that exists. */
  nodeDirs: { node: string; dir: PathFacts; ancestor?: PathFacts }[];
  /** The stack's network as the engine has it (read on every kind of host), when it exists. */
  network?: NetworkFacts;
}

/** A network the engine has: its labels say which stack made it. */
export interface NetworkFacts {
  name: string;
  labels: Record<string, string>;
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

/** Two bind addresses clash when equal or when either is a wildcard (IPv4 or dual-stack IPv6). Pure. */
export function addressesClash(a: string, b: string): boolean {
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}

/** `0100007F:4971` (little-endian hex IPv4, hex port) or the 32-digit IPv6 form → address and port. Pure. */
function parseProcAddress(text: string): { address: string; port: number } {
  const [hex, port] = text.split(":");
  let address: string;
  if (hex.length === 8) {
    address = [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(".");
  } else {
    // Four little-endian 32-bit words; only the wildcard and v4-mapped forms matter for clashes.
    const words = [0, 8, 16, 24].map((i) => hex.slice(i, i + 8));
    if (words.every((w) => w === "00000000")) address = "::";
    else if (words[0] === "00000000" && words[1] === "00000000" && words[2] === "FFFF0000")
      address = [6, 4, 2, 0].map((i) => Number.parseInt(words[3].slice(i, i + 2), 16)).join(".");
    else address = `v6:${hex}`;
  }
  return { address, port: Number.parseInt(port, 16) };
}

/**
 * Bound sockets of one /proc/net table: TCP sockets that listen (state 0A), UDP sockets that are bound
 * and unconnected (state 07). Pure.
 */
export function parseProcNet(text: string, protocol: "tcp" | "udp"): Listener[] {
  const want = protocol === "tcp" ? "0A" : "07";
  return text
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 3 && f[3] === want)
    .map((f) => ({ protocol, ...parseProcAddress(f[1]) }));
}

const where = (p: PortRequest) => `host port ${p.hostPort}/${p.protocol} on ${p.bind}`;

function portProblems(req: HostCheckRequest, facts: HostFacts): string[] {
  const problems: string[] = [];
  for (const node of req.nodes)
    for (const p of node.ports) {
      const clash = (x: { address?: string; ip?: string; port: number; protocol: string }) =>
        x.port === p.hostPort && x.protocol === p.protocol && addressesClash(x.address ?? x.ip ?? "", p.bind);
      const holders = facts.published.filter(clash);
      // This stack's own containers hold their ports until Pulumi replaces them: not a problem.
      const others = holders.filter((h) => h.stack !== req.stack);
      if (others.length) {
        const c = others[0];
        problems.push(
          `${p.key}: ${where(p)} is published by container ${c.container}${c.stack ? ` of stack ${c.stack}` : ""}: ` +
            `stop it (docker stop ${c.container}) or publish another host port for node ${node.name}`,
        );
      } else if (!holders.length && facts.listeners.some(clash)) {
        problems.push(
          `${p.key}: ${where(p)} is taken by another process on this machine (not a container): ` +
            `find it with: ss -lntup 'sport = :${p.hostPort}'; stop it or publish another host port for node ${node.name}`,
        );
      }
    }
  return problems;
}

function folderProblems(req: HostCheckRequest, facts: HostFacts): string[] {
  // The engine makes the folders as root (dataDirOps.ts), so this user's own rights do not matter here;
  // a read-only file system and a file in the way do.
  const problems: string[] = [];
  if (facts.dataRoot?.kind === "file")
    return [`cybernode:dataRoot: ${req.dataRoot} is a file, not a folder: choose another data root or move the file away`];
  for (const { node, dir, ancestor } of facts.nodeDirs) {
    if (dir.kind === "file") problems.push(`cybernode:dataRoot: ${dir.path}, node ${node}'s data folder, is a file: move it away`);
    else if (dir.kind === "missing" && ancestor?.kind === "file")
      problems.push(`cybernode:dataRoot: ${dir.path} cannot be made: ${ancestor.path} is a file, not a folder`);
    else if (dir.kind === "missing" && ancestor?.writable === "EROFS")
      problems.push(
        `cybernode:dataRoot: ${dir.path} cannot be made: ${ancestor.path} is on a read-only file system: choose a data root on a writable disk`,
      );
    else if (dir.kind === "dir" && dir.writable === "EROFS")
      problems.push(`cybernode:dataRoot: ${dir.path} is on a read-only file system: node ${node} could not write its data`);
  }
  return problems;
}

/** What the program asks the host about: the stack's nodes with their host ports and data folders. Pure. */
export function hostCheckRequest(plan: {
  host: string;
  stack: string;
  dataRoot: string;
  uid: number;
  nodes: { name: string; ports: Omit<PortRequest, "key">[] }[];
  network?: string;
}): HostCheckRequest {
  return {
    network: plan.network ?? "",
    host: plan.host,
    stack: plan.stack,
    dataRoot: plan.dataRoot,
    uid: plan.uid,
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      ports: n.ports.map((p) => ({ key: `cybernode:nodes.${n.name}.ports`, bind: p.bind, hostPort: p.hostPort, protocol: p.protocol })),
    })),
  };
}

/** Every problem `pulumi up` would meet at the host, each naming the stack-file key. Pure. */
export function hostProblems(req: HostCheckRequest, facts: HostFacts): string[] {
  const network = networkProblems(req, facts);
  if (!facts.local) return network;
  return [...network, ...portProblems(req, facts), ...folderProblems(req, facts)];
}

/**
 * The stack's network may exist only as this stack's own: one made by hand or by another stack (two
 * stacks on one host with the same cybernode:network) would join nodes that must not see each other,
 * and Pulumi would fail to create it halfway through `up`. Pure.
 */
export function networkProblems(req: HostCheckRequest, facts: HostFacts): string[] {
  const n = facts.network;
  if (!req.network || !n || n.labels["cybernode.stack"] === req.stack) return [];
  const owner = n.labels["cybernode.stack"];
  return [
    `cybernode:network: network ${n.name} on this host ${owner ? `belongs to stack ${owner}` : "was not made by a cybernode stack"}: ` +
      `each stack needs its own; set another name (pulumi config set --stack ${req.stack} cybernode:network cybernode-${req.stack}-2)` +
      (owner ? "" : ` or remove it (docker network rm ${n.name})`),
  ];
}
