import { CONTAINER_NAME_RE, IPV4_RE, SECRET_FILE_RE, isObject, parsePort, type FieldChecks, type Report, unknownFields } from "./fields";
import { checkGrace, checkImageCommand, checkSecretFiles, checkSignal, DEFAULT_STOP_GRACE, DEFAULT_STOP_SIGNAL } from "./operate";
import type { ResolvedSpec } from "./validate";

/** The `container` section of a spec: the defaults a stack's node starts from. Pure. */
export function validateContainer(raw: unknown, present: boolean, bad: Report, check: FieldChecks): ResolvedSpec["container"] {
  const c = isObject(raw) ? raw : {};
  unknownFields(
    "container",
    c,
    ["name", "restart", "ports", "args", "stopSignal", "stopGrace", "status", "secretFiles", "sharedSecretFiles", "settings"],
    bad,
  );
  const name = typeof c.name === "string" ? c.name : "";
  if (present && !CONTAINER_NAME_RE.test(name))
    bad("container.name", `${JSON.stringify(c.name)} must be a short name such as btcd (letters, digits, '.', '_', '-')`);
  const restart = c.restart === undefined ? "always" : check.restart("container.restart", c.restart);
  return {
    name,
    restart,
    ports: ports(c.ports, bad),
    args: check.strings("container.args", c.args),
    stopSignal: c.stopSignal === undefined ? DEFAULT_STOP_SIGNAL : checkSignal("container.stopSignal", c.stopSignal, bad),
    stopGrace: c.stopGrace === undefined ? DEFAULT_STOP_GRACE : checkGrace("container.stopGrace", c.stopGrace, bad),
    status: c.status === undefined ? null : status(c.status, bad),
    secretFiles: checkSecretFiles("container.secretFiles", c.secretFiles, bad),
    sharedSecretFiles: sharedSecretFiles(c.sharedSecretFiles, bad),
    settings: settings(c.settings, bad),
  };
}

function sharedSecretFiles(v: unknown, bad: Report): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((f) => typeof f !== "string" || !SECRET_FILE_RE.test(f))) {
    bad("container.sharedSecretFiles", 'must be a list of plain file names read from /cybersecrets, e.g. ["jwt.hex"]');
    return [];
  }
  return [...new Set(v as string[])].sort();
}

function settings(v: unknown, bad: Report): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v) || Object.entries(v).some(([k, t]) => !/^[A-Za-z][A-Za-z0-9_]*$/.test(k) || typeof t !== "string")) {
    bad("container.settings", 'must be a map of stack key → help text, e.g. { checkpointSyncUrl: "a Beacon API you trust" }');
    return {};
  }
  return v as Record<string, string>;
}

function status(v: unknown, bad: Report): ResolvedSpec["container"]["status"] {
  if (!isObject(v)) {
    bad("container.status", 'must be { rpcPort: 8334, height: ["/cyberapp/btcctl", "getblockcount"] }');
    return null;
  }
  for (const k of Object.keys(v)) if (k !== "rpcPort" && k !== "height") bad(`container.status.${k}`, "unknown field (rpcPort, height)");
  const port = parsePort(v.rpcPort);
  if (typeof port === "string") bad("container.status.rpcPort", `${port}: the node's RPC port, which the status command asks`);
  const height = checkImageCommand("container.status.height", v.height, bad);
  return typeof port === "string" ? null : { rpcPort: port.port, height };
}

function ports(v: unknown, bad: Report): ResolvedSpec["container"]["ports"] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    bad("container.ports", "must be a list of { port, hostPort?, bind? }");
    return [];
  }
  const out: ResolvedSpec["container"]["ports"] = [];
  for (const [i, p] of v.entries()) {
    const port = containerPort(p, `container.ports[${i}]`, out);
    if ("problem" in port) bad(port.field, port.problem);
    else out.push(port);
  }
  return out;
}

type Port = ResolvedSpec["container"]["ports"][number];

/** One `{ port, hostPort?, bind?, protocol? }` entry, or the problem with it and its field. */
function containerPort(p: unknown, f: string, earlier: Port[]): Port | { field: string; problem: string } {
  if (!isObject(p)) return { field: f, problem: "must be { port, hostPort?, bind?, protocol? }" };
  const inner = parsePort(p.port);
  const host = parsePort(p.hostPort ?? p.port);
  const bind = p.bind ?? "0.0.0.0";
  const protocol = p.protocol ?? "tcp";
  if (typeof inner === "string") return { field: `${f}.port`, problem: inner };
  if (typeof host === "string") return { field: `${f}.hostPort`, problem: host };
  if (typeof bind !== "string" || !IPV4_RE.test(bind))
    return { field: `${f}.bind`, problem: `${JSON.stringify(bind)} must be an IPv4 address such as 127.0.0.1 or 0.0.0.0` };
  if (protocol !== "tcp" && protocol !== "udp") return { field: `${f}.protocol`, problem: "must be tcp or udp" };
  if (earlier.some((x) => x.hostPort === host.port && x.protocol === protocol))
    return { field: f, problem: `host port ${host.port}/${protocol} is used twice` };
  return { port: inner.port, hostPort: host.port, bind, protocol };
}
