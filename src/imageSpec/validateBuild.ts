import { posix } from "node:path";
import { CACHE_NAME_RE, ENV_KEY_RE, isObject, type FieldChecks, type Report, unknownFields } from "./fields";
import type { VersionSource } from "./types";
import type { ResolvedSpec } from "./validate";

/** The `build` section of a spec: toolchain image, steps, env, caches, artifacts, version. Pure. */
export function validateBuild(raw: unknown, present: boolean, bad: Report, check: FieldChecks): ResolvedSpec["build"] {
  const b = isObject(raw) ? raw : {};
  unknownFields("build", b, ["from", "env", "passEnv", "steps", "workdir", "caches", "inputs", "artifacts", "version"], bad);
  const from = present ? check.imageRef("build.from", b.from) : "";
  if (from === "scratch") bad("build.from", "scratch has no shell to run build steps; use a toolchain image");
  const steps = check.strings("build.steps", b.steps, { nonEmpty: true });
  if (present && (!Array.isArray(b.steps) || b.steps.length === 0)) bad("build.steps", "missing: give at least one shell command");
  const env = check.envMap("build.env", b.env);
  const passEnv = check.strings("build.passEnv", b.passEnv);
  for (const k of passEnv) if (!ENV_KEY_RE.test(k)) bad("build.passEnv", `'${k}' is not a valid environment variable name`);
  const workdir = b.workdir === undefined ? "/" : check.absPath("build.workdir", b.workdir);
  if (b.inputs !== undefined && typeof b.inputs !== "boolean") bad("build.inputs", "must be true or false");
  return {
    from,
    env,
    passEnv: [...new Set(passEnv)].sort(),
    steps,
    workdir,
    caches: caches(b.caches, bad, check),
    inputs: b.inputs === undefined ? "auto" : (b.inputs as boolean),
    artifacts: present ? artifacts(b.artifacts, bad, check) : [],
    version: present ? version(b.version, bad, check) : { file: "" },
  };
}

function caches(v: unknown, bad: Report, check: FieldChecks): ResolvedSpec["build"]["caches"] {
  if (v === undefined) return [];
  if (!isObject(v)) {
    bad("build.caches", "must be an object of /container/path: cache-name");
    return [];
  }
  const out: ResolvedSpec["build"]["caches"] = [];
  for (const [p, n] of Object.entries(v)) {
    const path = check.absPath(`build.caches['${p}']`, p);
    if (typeof n !== "string" || !CACHE_NAME_RE.test(n))
      bad(`build.caches['${p}']`, `cache name ${JSON.stringify(n)} must be lower-case letters, digits, '.', '_' or '-'`);
    else out.push({ path, name: n });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : 1));
}

function artifacts(v: unknown, bad: Report, check: FieldChecks): ResolvedSpec["build"]["artifacts"] {
  if (!Array.isArray(v) || v.length === 0) {
    bad("build.artifacts", "missing: list the absolute paths of the binaries to extract");
    return [];
  }
  const out: ResolvedSpec["build"]["artifacts"] = [];
  v.forEach((a, i) => {
    const path = check.absPath(`build.artifacts[${i}]`, a);
    if (!path.startsWith("/")) return;
    const name = posix.basename(path);
    if (path === "/") bad(`build.artifacts[${i}]`, "'/' cannot be an artifact");
    else if (out.some((x) => x.name === name))
      bad(`build.artifacts[${i}]`, `duplicate artifact name '${name}' (artifacts land in /cyberapp by their base name)`);
    else if (name === "MANIFEST.json" || name === "VERSION" || name === "libs")
      bad(`build.artifacts[${i}]`, `'${name}' is reserved in bin/`);
    else out.push({ path, name });
  });
  return out;
}

function version(v: unknown, bad: Report, check: FieldChecks): VersionSource {
  if (isObject(v) && typeof v.file === "string" && v.command === undefined) return { file: check.absPath("build.version.file", v.file) };
  if (isObject(v) && typeof v.command === "string" && v.file === undefined && v.command.trim() !== "") return { command: v.command };
  bad("build.version", "missing: give { file: '/abs/path' } written by a step, or { command: 'app --version' }");
  return { file: "" };
}
