import {
  checkGrace,
  checkHealth,
  checkImageCommand,
  checkLogs,
  checkSignal,
  DEFAULT_LOGS,
  parseCpus,
  parseMemoryMiB,
  type Health,
  type LogRotation,
} from "../imageSpec/operate";
import type { ResolvedSpec } from "../imageSpec/validate";

/** How a node is stopped, checked, limited and logged: the spec's defaults with the node's overrides. */
export interface NodeOperation {
  stopSignal: string;
  /** Seconds from stopSignal to SIGKILL, on docker stop, replacements and destroy. */
  stopGrace: number;
  /** The node's own health check; "image" = the run image's (or none), "off" = disabled for this node. */
  health: Health | "image" | "off";
  /** Status height command, or null when the node has none. */
  status: string[] | null;
  /** Memory limit in MiB (no limit when absent). */
  memoryMiB?: number;
  /** CPU limit in cores, as `docker run --cpus`. */
  cpus?: string;
  logs: LogRotation;
}

export const OPERATION_FIELDS = ["stopSignal", "stopGrace", "health", "status", "memory", "cpus", "logs"];

/** Reads a node's operating overrides (`nodes.<name>.<field>` in messages). Pure. */
export function parseOperation(
  n: Record<string, unknown>,
  k: string,
  spec: ResolvedSpec,
  bad: (key: string, what: string) => void,
): NodeOperation {
  const c = spec.container;
  let health: NodeOperation["health"] = "image";
  if (n.health === false) health = "off";
  else if (n.health !== undefined) health = checkHealth(`${k}.health`, n.health, bad, spec.run.health ?? null) ?? "image";
  let status = c.status?.height ?? null;
  if (n.status === false) status = null;
  else if (n.status !== undefined) {
    if (!c.status)
      bad(`${k}.status`, `image ${spec.name} declares no RPC port for a status command (container.status.rpcPort in its spec)`);
    else status = checkImageCommand(`${k}.status`, n.status, bad);
  }
  return {
    stopSignal: n.stopSignal === undefined ? c.stopSignal : checkSignal(`${k}.stopSignal`, n.stopSignal, bad),
    stopGrace: n.stopGrace === undefined ? c.stopGrace : checkGrace(`${k}.stopGrace`, n.stopGrace, bad, c.stopGrace),
    health,
    status,
    ...(n.memory === undefined ? {} : { memoryMiB: parseMemoryMiB(`${k}.memory`, n.memory, bad) }),
    ...(n.cpus === undefined ? {} : { cpus: parseCpus(`${k}.cpus`, n.cpus, bad) }),
    logs: n.logs === undefined ? { ...DEFAULT_LOGS } : checkLogs(`${k}.logs`, n.logs, bad),
  };
}
