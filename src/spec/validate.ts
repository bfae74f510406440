import { posix } from "node:path";
import { InputError } from "./errors";
import type { ImageSpec, PortProtocol, VersionSource } from "./types";

/** A spec after validation: defaults filled in, maps sorted, nothing left optional. Pure data. */
export interface ResolvedSpec {
  /** `group/name`, from the spec's path under the images folder. */
  name: string;
  description: string;
  build: {
    from: string;
    env: [string, string][];
    passEnv: string[];
    steps: string[];
    workdir: string;
    caches: { path: string; name: string }[];
    inputs: boolean | "auto";
    artifacts: { path: string; name: string }[];
    version: VersionSource;
  };
  run: {
    base: string;
    entrypoint: string[];
    cmd: string[];
    env: [string, string][];
    ports: { port: number; protocol: PortProtocol }[];
    uid: number;
    labels: [string, string][];
    bundleLibs: boolean;
    source: string;
    revision: string;
  };
  container: {
    name: string;
    restart: string;
    ports: { port: number; hostPort: number; bind: string; protocol: PortProtocol }[];
    args: string[];
  };
}

export const IMAGE_NAME_RE = /^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/;
export const CONTAINER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CACHE_NAME_RE = /^[a-z0-9][a-z0-9_.-]*$/;
export const RESTART_RE = /^(no|always|unless-stopped|on-failure(:[1-9][0-9]*)?)$/;
export const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** Docker image reference, loosely: repo[:tag][@digest], lower-case repository. */
const IMAGE_REF_RE = /^[a-z0-9][a-z0-9._\-/:]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses `8333`, `"8333"` or `"8333/udp"`; returns an error text or the port. */
export function parsePort(v: unknown): { port: number; protocol: PortProtocol } | string {
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v : undefined;
  const m = text === undefined ? null : /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  if (!m) return `${JSON.stringify(v)} is not a port; write 8333 or "8333/udp"`;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return `${port} is outside 1-65535`;
  return { port, protocol: (m[2] as PortProtocol | undefined) ?? "tcp" };
}

export function isValidUid(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 31;
}

/**
 * Checks a spec loaded from `images/<name>.ts` and fills in defaults.
 * Throws InputError listing every problem, each naming its field.
 */
export function validateSpec(name: string, raw: unknown): ResolvedSpec {
  const problems: string[] = [];
  const bad = (field: string, what: string) => problems.push(`${field}: ${what}`);

  if (!IMAGE_NAME_RE.test(name)) {
    bad("name", `'${name}' must be <group>/<name> in lower case (file images/<group>/<name>.ts)`);
  }
  if (!isObject(raw)) {
    throw new InputError(`image ${name}`, ["the spec file must `export default defineImage({ build, run, container })`"]);
  }
  const spec = raw as Partial<ImageSpec> & Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!["description", "build", "run", "container"].includes(key))
      bad(key, "unknown field (expected build, run, container, description)");
  }

  const strings = (field: string, v: unknown, opts: { nonEmpty?: boolean } = {}): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      bad(field, "must be a list of strings");
      return [];
    }
    if (opts.nonEmpty && v.some((x) => (x as string).trim() === "")) bad(field, "contains an empty string");
    if (v.some((x) => (x as string).includes("\0"))) bad(field, "contains a NUL byte, which no command line can carry");
    return v as string[];
  };
  const envMap = (field: string, v: unknown): [string, string][] => {
    if (v === undefined) return [];
    if (!isObject(v)) {
      bad(field, "must be an object of NAME: value");
      return [];
    }
    const out: [string, string][] = [];
    for (const [k, val] of Object.entries(v)) {
      if (!ENV_KEY_RE.test(k))
        bad(`${field}.${k}`, `'${k}' is not a valid environment variable name (letters, digits, _; not starting with a digit)`);
      else if (typeof val !== "string") bad(`${field}.${k}`, "value must be a string");
      else if (val.includes("\0")) bad(`${field}.${k}`, "value contains a NUL byte");
      else out.push([k, val]);
    }
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const imageRef = (field: string, v: unknown): string => {
    if (typeof v !== "string" || v.trim() === "") {
      bad(field, "must name an image, e.g. golang:1.26-bookworm");
      return "";
    }
    if (v !== "scratch" && !IMAGE_REF_RE.test(v)) bad(field, `'${v}' is not a valid image reference`);
    return v;
  };
  const absPath = (field: string, v: unknown): string => {
    if (typeof v !== "string" || v === "") {
      bad(field, "must be an absolute path");
      return "";
    }
    if (!v.startsWith("/")) bad(field, `'${v}' is not an absolute path; write it as /${v}`);
    else if (v.split("/").includes("..")) bad(field, `'${v}' must not contain '..'`);
    return posix.normalize(v);
  };

  // --- build
  /** A missing section is reported once; its fields are then checked as absent. */
  const missing = (key: string, what: string): Record<string, unknown> => {
    bad(key, `missing: ${what}`);
    return {};
  };
  const b = isObject(spec.build) ? spec.build : missing("build", "the build image (from, steps, artifacts, version)");
  const from = spec.build === undefined ? "" : imageRef("build.from", b.from);
  if (from === "scratch") bad("build.from", "scratch has no shell to run build steps; use a toolchain image");
  const steps = strings("build.steps", b.steps, { nonEmpty: true });
  if (spec.build !== undefined && (!Array.isArray(b.steps) || b.steps.length === 0))
    bad("build.steps", "missing: give at least one shell command");
  const buildEnv = envMap("build.env", b.env);
  const passEnv = strings("build.passEnv", b.passEnv);
  for (const k of passEnv) if (!ENV_KEY_RE.test(k)) bad("build.passEnv", `'${k}' is not a valid environment variable name`);
  const workdir = b.workdir === undefined ? "/" : absPath("build.workdir", b.workdir);
  const caches: { path: string; name: string }[] = [];
  if (b.caches !== undefined) {
    if (!isObject(b.caches)) bad("build.caches", "must be an object of /container/path: cache-name");
    else
      for (const [p, n] of Object.entries(b.caches)) {
        const path = absPath(`build.caches['${p}']`, p);
        if (typeof n !== "string" || !CACHE_NAME_RE.test(n))
          bad(`build.caches['${p}']`, `cache name ${JSON.stringify(n)} must be lower-case letters, digits, '.', '_' or '-'`);
        else caches.push({ path, name: n });
      }
    caches.sort((x, y) => (x.path < y.path ? -1 : 1));
  }
  if (b.inputs !== undefined && typeof b.inputs !== "boolean") bad("build.inputs", "must be true or false");
  const artifacts: { path: string; name: string }[] = [];
  if (spec.build !== undefined) {
    if (!Array.isArray(b.artifacts) || b.artifacts.length === 0)
      bad("build.artifacts", "missing: list the absolute paths of the binaries to extract");
    else
      b.artifacts.forEach((a, i) => {
        const path = absPath(`build.artifacts[${i}]`, a);
        if (!path.startsWith("/")) return;
        const name = posix.basename(path);
        if (path === "/") bad(`build.artifacts[${i}]`, "'/' cannot be an artifact");
        else if (artifacts.some((x) => x.name === name))
          bad(`build.artifacts[${i}]`, `duplicate artifact name '${name}' (artifacts land in /cyberapp by their base name)`);
        else if (name === "MANIFEST.json" || name === "VERSION" || name === "libs")
          bad(`build.artifacts[${i}]`, `'${name}' is reserved in bin/`);
        else artifacts.push({ path, name });
      });
  }
  let version: VersionSource = { file: "" };
  if (spec.build !== undefined) {
    const v = b.version;
    if (isObject(v) && typeof v.file === "string" && v.command === undefined) version = { file: absPath("build.version.file", v.file) };
    else if (isObject(v) && typeof v.command === "string" && v.file === undefined && v.command.trim() !== "")
      version = { command: v.command };
    else bad("build.version", "missing: give { file: '/abs/path' } written by a step, or { command: 'app --version' }");
  }

  // --- run
  const r = isObject(spec.run) ? spec.run : missing("run", "the run image (entrypoint, ports, ...)");
  const base = r.base === undefined ? "scratch" : imageRef("run.base", r.base);
  const entrypoint = strings("run.entrypoint", r.entrypoint);
  if (spec.run !== undefined && (entrypoint.length === 0 || entrypoint[0].trim() === ""))
    bad("run.entrypoint", "empty: give the program, e.g. ['/cyberapp/btcd', '--datadir=/cyberdata']");
  else if (entrypoint.length > 0 && !entrypoint[0].startsWith("/"))
    bad(
      "run.entrypoint",
      `'${entrypoint[0]}' must be an absolute path such as /cyberapp/${entrypoint[0]} (run images have no PATH lookup or shell)`,
    );
  const cmd = strings("run.cmd", r.cmd);
  const runEnv = envMap("run.env", r.env);
  if (!runEnv.some(([k]) => k === "HOME")) runEnv.push(["HOME", "/cyberdata"]);
  runEnv.sort(([a], [x]) => (a < x ? -1 : 1));
  const ports: { port: number; protocol: PortProtocol }[] = [];
  if (r.ports !== undefined && !Array.isArray(r.ports)) bad("run.ports", "must be a list of ports");
  else
    ((r.ports as unknown[] | undefined) ?? []).forEach((p, i) => {
      const parsed = parsePort(p);
      if (typeof parsed === "string") bad(`run.ports[${i}]`, parsed);
      else if (ports.some((x) => x.port === parsed.port && x.protocol === parsed.protocol))
        bad(`run.ports[${i}]`, `port ${parsed.port}/${parsed.protocol} is listed twice`);
      else ports.push(parsed);
    });
  const uid = r.uid === undefined ? 1000 : r.uid;
  if (!isValidUid(uid)) bad("run.uid", `${JSON.stringify(r.uid)} must be a non-negative integer (the numeric uid, e.g. 1000)`);
  else if (uid === 0) bad("run.uid", "0 is root; fullnodes run as a non-root uid such as 1000");
  const labels = envMapLabels(r.labels, bad);
  if (r.bundleLibs !== undefined && typeof r.bundleLibs !== "boolean") bad("run.bundleLibs", "must be true or false");
  if (r.source !== undefined && typeof r.source !== "string") bad("run.source", "must be a URL string");
  if (r.revision !== undefined && typeof r.revision !== "string") bad("run.revision", "must be a string (tag or commit)");

  // --- container
  const c = isObject(spec.container) ? spec.container : missing("container", "the container defaults (name, ports, ...)");
  const cname = typeof c.name === "string" ? c.name : "";
  if (spec.container !== undefined && !CONTAINER_NAME_RE.test(cname))
    bad("container.name", `${JSON.stringify(c.name)} must be a short name such as btcd (letters, digits, '.', '_', '-')`);
  const restart = c.restart === undefined ? "always" : c.restart;
  if (typeof restart !== "string" || !RESTART_RE.test(restart))
    bad("container.restart", `${JSON.stringify(c.restart)} must be one of no, always, unless-stopped, on-failure[:N]`);
  const cports: ResolvedSpec["container"]["ports"] = [];
  if (c.ports !== undefined && !Array.isArray(c.ports)) bad("container.ports", "must be a list of { port, hostPort?, bind? }");
  else
    ((c.ports as unknown[] | undefined) ?? []).forEach((p, i) => {
      const f = `container.ports[${i}]`;
      if (!isObject(p)) {
        bad(f, "must be { port, hostPort?, bind?, protocol? }");
        return;
      }
      const inner = parsePort(p.port);
      const host = parsePort(p.hostPort ?? p.port);
      const bind = p.bind ?? "0.0.0.0";
      const protocol = p.protocol ?? "tcp";
      if (typeof inner === "string") {
        bad(`${f}.port`, inner);
        return;
      }
      if (typeof host === "string") {
        bad(`${f}.hostPort`, host);
        return;
      }
      if (typeof bind !== "string" || !IPV4_RE.test(bind)) {
        bad(`${f}.bind`, `${JSON.stringify(bind)} must be an IPv4 address such as 127.0.0.1 or 0.0.0.0`);
        return;
      }
      if (protocol !== "tcp" && protocol !== "udp") {
        bad(`${f}.protocol`, "must be tcp or udp");
        return;
      }
      if (cports.some((x) => x.hostPort === host.port && x.protocol === protocol)) {
        bad(f, `host port ${host.port}/${protocol} is used twice`);
        return;
      }
      cports.push({ port: inner.port, hostPort: host.port, bind, protocol });
    });
  const args = strings("container.args", c.args);

  if (problems.length > 0) throw new InputError(`image ${name}`, problems);
  return {
    name,
    description: typeof spec.description === "string" ? spec.description : "",
    build: {
      from,
      env: buildEnv,
      passEnv: [...new Set(passEnv)].sort(),
      steps,
      workdir,
      caches,
      inputs: b.inputs === undefined ? "auto" : (b.inputs as boolean),
      artifacts,
      version,
    },
    run: {
      base,
      entrypoint,
      cmd,
      env: runEnv,
      ports: ports.sort((x, y) => x.port - y.port || (x.protocol < y.protocol ? -1 : 1)),
      uid: uid as number,
      labels,
      bundleLibs: r.bundleLibs === true,
      source: typeof r.source === "string" ? r.source : "",
      revision: typeof r.revision === "string" ? r.revision : "",
    },
    container: { name: cname, restart: restart as string, ports: cports, args },
  };
}

function envMapLabels(v: unknown, bad: (field: string, what: string) => void): [string, string][] {
  if (v === undefined) return [];
  if (!isObject(v)) {
    bad("run.labels", "must be an object of label: value");
    return [];
  }
  const out: [string, string][] = [];
  for (const [k, val] of Object.entries(v)) {
    if (k === "" || /\s/.test(k)) bad(`run.labels['${k}']`, "label keys must be non-empty without spaces");
    else if (k === "version" || k.startsWith("org.opencontainers.image."))
      bad(`run.labels['${k}']`, "is set by the builder from the version string; remove it");
    else if (typeof val !== "string") bad(`run.labels['${k}']`, "value must be a string");
    else out.push([k, val]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}
