import { isObject, isValidUid, parsePort, type FieldChecks, type Report, unknownFields } from "./fields";
import { checkHealth } from "./operate";
import type { PortProtocol } from "./types";
import type { ResolvedSpec } from "./validate";

/** The `run` section of a spec: base, entrypoint, env, ports, uid, labels. Pure. */
export function validateRun(raw: unknown, present: boolean, bad: Report, check: FieldChecks): ResolvedSpec["run"] {
  const r = isObject(raw) ? raw : {};
  unknownFields(
    "run",
    r,
    ["base", "entrypoint", "cmd", "env", "ports", "uid", "labels", "bundleLibs", "source", "revision", "health"],
    bad,
  );
  const base = r.base === undefined ? "scratch" : check.imageRef("run.base", r.base);
  const entrypoint = check.strings("run.entrypoint", r.entrypoint);
  if (present && (entrypoint.length === 0 || entrypoint[0].trim() === ""))
    bad("run.entrypoint", "empty: give the program, e.g. ['/cyberapp/btcd', '--datadir=/cyberdata']");
  else if (entrypoint.length > 0 && !entrypoint[0].startsWith("/"))
    bad(
      "run.entrypoint",
      `'${entrypoint[0]}' must be an absolute path such as /cyberapp/${entrypoint[0]} (run images have no PATH lookup or shell)`,
    );
  const env = check.envMap("run.env", r.env);
  // Apps that write under $HOME must write into the data volume (mkdir /.btcd: permission denied otherwise).
  if (!env.some(([k]) => k === "HOME")) env.push(["HOME", "/cyberdata"]);
  env.sort(([a], [x]) => (a < x ? -1 : 1));
  const uid = r.uid === undefined ? 1000 : r.uid;
  if (!isValidUid(uid)) bad("run.uid", `${JSON.stringify(r.uid)} must be a non-negative integer (the numeric uid, e.g. 1000)`);
  else if (uid === 0) bad("run.uid", "0 is root; fullnodes run as a non-root uid such as 1000");
  const labels = check.labelMap("run.labels", r.labels, {
    reserved: (k) =>
      k === "version" || k.startsWith("org.opencontainers.image.") ? "is set by the builder from the version string; remove it" : null,
    keyField: (k) => `run.labels['${k}']`,
  });
  if (r.bundleLibs !== undefined && typeof r.bundleLibs !== "boolean") bad("run.bundleLibs", "must be true or false");
  if (r.source !== undefined && typeof r.source !== "string") bad("run.source", "must be a URL string");
  if (r.revision !== undefined && typeof r.revision !== "string") bad("run.revision", "must be a string (tag or commit)");
  return {
    base,
    entrypoint,
    cmd: check.strings("run.cmd", r.cmd),
    env,
    ports: ports(r.ports, bad),
    uid: uid as number,
    labels,
    bundleLibs: r.bundleLibs === true,
    source: typeof r.source === "string" ? r.source : "",
    revision: typeof r.revision === "string" ? r.revision : "",
    ...(r.health === undefined ? {} : { health: checkHealth("run.health", r.health, bad, null) ?? undefined }),
  };
}

function ports(v: unknown, bad: Report): { port: number; protocol: PortProtocol }[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    bad("run.ports", "must be a list of ports");
    return [];
  }
  const out: { port: number; protocol: PortProtocol }[] = [];
  v.forEach((p, i) => {
    const parsed = parsePort(p);
    if (typeof parsed === "string") bad(`run.ports[${i}]`, parsed);
    else if (out.some((x) => x.port === parsed.port && x.protocol === parsed.protocol))
      bad(`run.ports[${i}]`, `port ${parsed.port}/${parsed.protocol} is listed twice`);
    else out.push(parsed);
  });
  return out.sort((x, y) => x.port - y.port || (x.protocol < y.protocol ? -1 : 1));
}
