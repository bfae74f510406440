import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { daemonInfo, onDockerHost, runDocker } from "../docker/cli";
import { engineGet, localSocket } from "../docker/engineApi";
import {
  type CheckHostResult,
  type HostCheckRequest,
  type HostFacts,
  hostProblems,
  type Listener,
  type NetworkFacts,
  parseProcNet,
  type PathFacts,
  type Published,
} from "../stack/hostProblems";

/**
 * The provider plugin's `checkHost` function (a Pulumi invoke), which the program calls at every preview
 * and up before it declares a node: which engine serves the host (Docker and Podman report some
 * container settings back differently, see containerSettings.ts) and what `up` would fail on there
 * (plan/hostProblems.ts). Sockets and folders are read only where they are this machine's (a unix
 * socket host); an ssh:// or tcp:// host gets its engine kind only, and up reports what fails there.
 */
export { CHECK_HOST_TOKEN, type CheckHostResult } from "../stack/hostProblems";

function pathFacts(path: string): PathFacts {
  try {
    const st = statSync(path);
    let writable = "ok";
    try {
      accessSync(path, constants.W_OK);
    } catch (e) {
      writable = (e as NodeJS.ErrnoException).code ?? "error";
    }
    return { path, kind: st.isDirectory() ? "dir" : "file", uid: st.uid, mode: st.mode, writable };
  } catch {
    return { path, kind: "missing" };
  }
}

/** The nearest path at or above `path` that exists. */
function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && p !== dirname(p)) p = dirname(p);
  return p;
}

function listeners(): Listener[] {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return [
    ...parseProcNet(read("/proc/net/tcp"), "tcp"),
    ...parseProcNet(read("/proc/net/tcp6"), "tcp"),
    ...parseProcNet(read("/proc/net/udp"), "udp"),
    ...parseProcNet(read("/proc/net/udp6"), "udp"),
  ];
}

interface ContainerRow {
  Names?: string[];
  Labels?: Record<string, string>;
  Ports?: { IP?: string; PublicPort?: number; Type?: string }[];
}

/** Host ports of running containers, from the engine's list (local socket only). */
async function published(host: string): Promise<Published[]> {
  const r = await engineGet("/containers/json", host);
  if (r?.status !== 200 || !Array.isArray(r.body)) return [];
  return (r.body as ContainerRow[]).flatMap((c) =>
    (c.Ports ?? [])
      .filter((p) => p.PublicPort)
      .map((p) => ({
        container: (c.Names?.[0] ?? "").replace(/^\//, ""),
        stack: c.Labels?.["cybernode.stack"],
        ip: p.IP ?? "0.0.0.0",
        port: p.PublicPort as number,
        protocol: p.Type === "udp" ? ("udp" as const) : ("tcp" as const),
      })),
  );
}

/** The stack's network with its labels, if the engine has it: the API on a local socket, the CLI elsewhere. */
async function networkFacts(host: string, name: string | undefined, local: boolean): Promise<NetworkFacts | undefined> {
  if (!name) return undefined;
  if (local) {
    const r = await engineGet(`/networks/${encodeURIComponent(name)}`, host);
    if (r?.status === 200) {
      const body = r.body as { Name?: string; Labels?: Record<string, string> | null };
      return { name: body.Name ?? name, labels: body.Labels ?? {} };
    }
    if (r?.status === 404) return undefined;
  }
  const r = await onDockerHost(host, () => runDocker(["network", "inspect", "--format", "{{json .Labels}}", name], { timeoutMs: 60_000 }));
  if (r.exitCode !== 0) return undefined;
  return { name, labels: (JSON.parse(r.stdout.trim() || "null") as Record<string, string> | null) ?? {} };
}

/** Reads the facts of a host (only those of this machine when the host is a local socket). */
async function hostFacts(req: HostCheckRequest): Promise<HostFacts> {
  const local = localSocket(req.host, { ...process.env, DOCKER_HOST: undefined }) !== null;
  const network = await networkFacts(req.host, req.network, local);
  if (!local) return { local, listeners: [], published: [], nodeDirs: [], network };
  return {
    network,
    local,
    listeners: listeners(),
    published: await published(req.host),
    dataRoot: pathFacts(req.dataRoot),
    nodeDirs: req.nodes.map(({ name }) => {
      const dir = pathFacts(`${req.dataRoot}/${name}`);
      return { node: name, dir, ...(dir.kind === "missing" ? { ancestor: pathFacts(nearestExisting(dir.path)) } : {}) };
    }),
  };
}

export async function checkHost(req: HostCheckRequest): Promise<CheckHostResult> {
  const [info, facts] = await Promise.all([onDockerHost(req.host, () => daemonInfo()), hostFacts(req)]);
  return { kind: info.kind, version: info.serverVersion, problems: hostProblems(req, facts) };
}
