import { CONTAINER_NAME_RE, IPV4_RE, isObject, parsePort, type FieldChecks, type Report } from "./fields";
import type { ResolvedSpec } from "./validate";

/** The `container` section of a spec: the defaults a stack's node starts from. Pure. */
export function validateContainer(raw: unknown, present: boolean, bad: Report, check: FieldChecks): ResolvedSpec["container"] {
  const c = isObject(raw) ? raw : {};
  const name = typeof c.name === "string" ? c.name : "";
  if (present && !CONTAINER_NAME_RE.test(name))
    bad("container.name", `${JSON.stringify(c.name)} must be a short name such as btcd (letters, digits, '.', '_', '-')`);
  const restart = c.restart === undefined ? "always" : check.restart("container.restart", c.restart);
  return { name, restart, ports: ports(c.ports, bad), args: check.strings("container.args", c.args) };
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
