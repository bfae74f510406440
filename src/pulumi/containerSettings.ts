import type * as docker from "@pulumi/docker";
import type { NodePlan, StackPlan } from "./config";
import type { NodeOperation } from "./nodeOperation";

/**
 * What a node's docker.Container declares, apart from the image, the args (a secret when they carry one)
 * and the data folder's path (an output of its DataDir). Pure, so the unit tests read every rule the
 * README promises for a container (hardening, grace, limits, logs) without the Pulumi runtime.
 */
export type ContainerSettings = Omit<docker.ContainerArgs, "image" | "command" | "volumes">;

/** A node's own health check for the Container, or undefined to keep the run image's. */
export function containerHealthcheck(h: NodeOperation["health"]): docker.types.input.ContainerHealthcheck | undefined {
  if (h === "image") return undefined;
  if (h === "off") return { tests: ["NONE"] };
  return {
    tests: ["CMD", ...h.command],
    interval: `${h.interval}s`,
    timeout: `${h.timeout}s`,
    startPeriod: `${h.startPeriod}s`,
    retries: h.retries,
  };
}

export function containerSettings(node: NodePlan, plan: StackPlan): ContainerSettings {
  const op = node.operation;
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
      ...node.labels.map(([label, value]) => ({ label, value })),
    ],
    mustRun: true,
    // Hardening defaults (see NodeSecurity); each can be turned off per node in the stack config.
    readOnly: node.security.readOnlyRoot,
    tmpfs: node.security.readOnlyRoot ? { "/tmp": `rw,nosuid,nodev,size=${node.security.tmpSize}` } : undefined,
    securityOpts: node.security.noNewPrivileges ? ["no-new-privileges:true"] : [],
    capabilities: { drops: node.security.capDrop, adds: node.security.capAdd },
    // Daemons flush their databases on the stop signal: docker stop (stopTimeout) and replacements or
    // destroys (destroyGraceSeconds) wait the grace period before SIGKILL. Without them the provider
    // kills the container at once.
    stopSignal: op.stopSignal,
    stopTimeout: op.stopGrace,
    destroyGraceSeconds: op.stopGrace,
    healthcheck: containerHealthcheck(op.health),
    memory: op.memoryMiB,
    // Docker's own default (memory + as much swap) written out: the provider reads the value Docker
    // chose back into state, and a limit left unset would then show as an update at every preview.
    memorySwap: op.memoryMiB === undefined ? undefined : 2 * op.memoryMiB,
    cpus: op.cpus,
    logDriver: "json-file",
    logOpts: { "max-size": op.logs.maxSize, "max-file": String(op.logs.maxFiles) },
  };
}
