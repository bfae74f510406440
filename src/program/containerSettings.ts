import type * as docker from "@pulumi/docker";
import type { EngineKind } from "../docker/cli";
import type { NodePlan, StackPlan } from "../stack/config";
import type { NodeOperation } from "../stack/nodeOperation";

/**
 * What a node's docker.Container declares, apart from the image, the args (a secret when they carry one)
 * and the data folder's path (an output of its DataDir). Pure, so the unit tests read every rule the
 * README promises for a container (hardening, grace, limits, logs) without the Pulumi runtime.
 */
export type ContainerSettings = Omit<docker.ContainerArgs, "image" | "command" | "volumes">;

/**
 * Seconds as Go prints a duration ("45s", "1m0s", "1h2m3s"): the provider reads the health check's
 * times back in that form, and "60s" would show as an update at every preview. Pure.
 */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`;
}

/** A node's own health check for the Container, or undefined to keep the run image's. */
export function containerHealthcheck(h: NodeOperation["health"]): docker.types.input.ContainerHealthcheck | undefined {
  if (h === "image") return undefined;
  if (h === "off") return { tests: ["NONE"] };
  return {
    tests: ["CMD", ...h.command],
    interval: goDuration(h.interval),
    timeout: goDuration(h.timeout),
    startPeriod: goDuration(h.startPeriod),
    retries: h.retries,
  };
}

/** Linux signal numbers (x86 and Arm; SIGRTMIN as glibc and the engines count it) of the stop signals a node may name. */
const SIGNAL_NUMBERS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, USR1: 10, USR2: 12, TERM: 15, WINCH: 28, PWR: 30, RTMIN: 34 };

/** "SIGTERM" → "15", "SIGRTMIN+3" → "37". Pure. */
export function signalNumber(signal: string): string {
  const [name, plus] = signal.replace(/^SIG/, "").split("+");
  const n = SIGNAL_NUMBERS[name];
  if (n === undefined) throw new Error(`no number for signal ${signal}`);
  return String(n + Number(plus ?? 0));
}

/**
 * What Podman makes of a read-only root: tmpfs on /run and /var/tmp besides ours on /tmp, each with the
 * options it adds (its `read-only-tmpfs` default). Declared as Podman reports them, so that the Docker
 * provider, which diffs what it reads back, does not replace the container at every update.
 */
const podmanReadOnlyTmpfs = (tmpSize: string) => ({
  "/run": "rw,rprivate,nosuid,nodev,tmpcopyup",
  "/tmp": `rw,nosuid,nodev,size=${tmpSize},rprivate,tmpcopyup`,
  "/var/tmp": "rw,rprivate,nosuid,nodev,tmpcopyup",
});

/** The settings that the host's engine reports back in its own way. Plain values. */
export interface EngineSpecificSettings {
  stopSignal: string;
  tmpfs?: Record<string, string>;
  logOpts?: Record<string, string>;
}

/**
 * Podman's Docker-compatible API reports the stop signal as a number, adds its own tmpfs mounts and
 * options, and reports no log options at all (it keeps one log file, limited by containers.conf's
 * log_size_max); each is declared the way it will be read back. Pure.
 */
export function engineSpecificSettings(node: NodePlan, engine: EngineKind): EngineSpecificSettings {
  const podman = engine === "podman";
  const op = node.operation;
  const { readOnlyRoot, tmpSize } = node.security;
  return {
    stopSignal: podman ? signalNumber(op.stopSignal) : op.stopSignal,
    tmpfs: !readOnlyRoot ? undefined : podman ? podmanReadOnlyTmpfs(tmpSize) : { "/tmp": `rw,nosuid,nodev,size=${tmpSize}` },
    logOpts: podman ? undefined : { "max-size": op.logs.maxSize, "max-file": String(op.logs.maxFiles) },
  };
}

/** `engine`: the host's engine (see engineSpecificSettings). Pure. */
export function containerSettings(node: NodePlan, plan: StackPlan, engine: EngineKind = "docker"): ContainerSettings {
  const op = node.operation;
  const own = engineSpecificSettings(node, engine);
  // Nodes that start after this one wait until it is healthy: up waits for that when it makes this one.
  const awaited = node.healthWait !== null && plan.nodes.some((n) => n.after.includes(node.name));
  return {
    name: node.name,
    restart: node.restart,
    user: `${plan.uid}:${plan.uid}`,
    envs: node.env.map(([k, v]) => `${k}=${v}`),
    ports: node.ports.map((p) => ({ internal: p.port, external: p.hostPort, ip: p.bind, protocol: p.protocol })),
    labels: [
      { label: "cybernode.node", value: node.name },
      { label: "cybernode.image", value: node.image },
      { label: "cybernode.stack", value: plan.stack },
      // The network by name too: Podman reports every container's network mode as "bridge" (see
      // engineIgnoredChanges), so on a renamed network this label is what replaces the container.
      ...(plan.network ? [{ label: "cybernode.network", value: plan.network }] : []),
      // Shown by previews, read by `docker inspect`: which nodes this one starts after.
      ...(node.after.length ? [{ label: "cybernode.after", value: [...node.after].sort().join(",") }] : []),
      ...node.labels.map(([label, value]) => ({ label, value })),
    ],
    // The stack's own network: nodes reach each other by node name, and ports used only between them are
    // not published on the host.
    networkMode: plan.network || undefined,
    wait: awaited || undefined,
    waitTimeout: awaited ? (node.healthWait as number) : undefined,
    mustRun: true,
    // Hardening defaults (see NodeSecurity); each can be turned off per node in the stack config.
    readOnly: node.security.readOnlyRoot,
    tmpfs: own.tmpfs,
    securityOpts: node.security.noNewPrivileges ? ["no-new-privileges:true"] : [],
    capabilities: { drops: node.security.capDrop, adds: node.security.capAdd },
    // Daemons flush their databases on the stop signal: docker stop (stopTimeout) and replacements or
    // destroys (destroyGraceSeconds) wait the grace period before SIGKILL. Without them the provider
    // kills the container at once.
    stopSignal: own.stopSignal,
    stopTimeout: op.stopGrace,
    destroyGraceSeconds: op.stopGrace,
    healthcheck: containerHealthcheck(op.health),
    memory: op.memoryMiB,
    // Docker's own default (memory + as much swap) written out: the provider reads the value Docker
    // chose back into state, and a limit left unset would then show as an update at every preview.
    memorySwap: op.memoryMiB === undefined ? undefined : 2 * op.memoryMiB,
    cpus: op.cpus,
    logDriver: "json-file",
    logOpts: own.logOpts,
  };
}

/**
 * The stack's docker.Network. Podman reports its IPAM driver as an option (`host-local`), which the
 * provider reads back: declared so, or every preview would replace the network and every node. Pure.
 */
export function networkSettings(plan: StackPlan, engine: EngineKind = "docker"): docker.NetworkArgs {
  return {
    name: plan.network,
    driver: "bridge",
    labels: [{ label: "cybernode.stack", value: plan.stack }],
    ...(engine === "podman" ? { ipamOptions: { driver: "host-local" } } : {}),
  };
}

/**
 * Container inputs the engine reports back in a form the provider cannot match: Podman gives the
 * network mode of a container on a user-defined network as "bridge". Created as declared, then not
 * diffed (the `cybernode.network` label follows the network instead). Pure.
 */
export function engineIgnoredChanges(engine: EngineKind): string[] {
  return engine === "podman" ? ["networkMode"] : [];
}
