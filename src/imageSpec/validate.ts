import { InputError } from "./errors";
import { fieldChecks, IMAGE_NAME_RE, isObject } from "./fields";
import type { Health } from "./operate";
import type { ImageSpec, PortProtocol, VersionSource } from "./types";
import { validateBuild } from "./validateBuild";
import { validateContainer } from "./validateContainer";
import { validateRun } from "./validateRun";

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
    /**
     * Docker health check written into the image config. Absent (not null) when the spec has none, so the
     * hashes and image IDs of such specs stay what they were.
     */
    health?: Health;
  };
  container: {
    name: string;
    restart: string;
    ports: { port: number; hostPort: number; bind: string; protocol: PortProtocol }[];
    args: string[];
    stopSignal: string;
    /** Seconds between stopSignal and SIGKILL. */
    stopGrace: number;
    status: { rpcPort: number; height: string[] } | null;
    /** Files made once in the data folder: name → template with ${random}. */
    secretFiles: [string, string][];
    /** Files read from /cybersecrets (a stack's shared secrets). */
    sharedSecretFiles: string[];
    /** Help for the `${config:key}` values its nodes' args may use. */
    settings: Record<string, string>;
  };
}

export { CONTAINER_NAME_RE, ENV_KEY_RE, IMAGE_NAME_RE, IPV4_RE, isObject, isValidUid, parsePort, RESTART_RE } from "./fields";

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

  const check = fieldChecks(bad);
  /** A missing section is reported once; its fields are then checked as absent. */
  const section = (key: "build" | "run" | "container", what: string): boolean => {
    if (isObject(spec[key])) return true;
    bad(key, `missing: ${what}`);
    return false;
  };
  const build = validateBuild(spec.build, section("build", "the build image (from, steps, artifacts, version)"), bad, check);
  const run = validateRun(spec.run, section("run", "the run image (entrypoint, ports, ...)"), bad, check);
  const container = validateContainer(spec.container, section("container", "the container defaults (name, ports, ...)"), bad, check);
  // The status command talks to the node's RPC: a spec without that port has nothing to ask.
  if (container.status && !run.ports.some((p) => p.port === container.status?.rpcPort && p.protocol === "tcp"))
    bad(
      "container.status.rpcPort",
      `${container.status.rpcPort} is not one of run.ports (${run.ports.map((p) => p.port).join(", ") || "none"}): a status command needs the node's RPC port`,
    );
  // Publishing a port the image does not expose is almost always a typo in one of the two lists.
  container.ports.forEach((p, i) => {
    if (!run.ports.some((r) => r.port === p.port && r.protocol === p.protocol))
      bad(
        `container.ports[${i}]`,
        `${p.port}/${p.protocol} is not one of run.ports (${run.ports.map((r) => `${r.port}/${r.protocol}`).join(", ") || "none"}): add it to run.ports or fix the number`,
      );
  });
  if (problems.length > 0) throw new InputError(`image ${name}`, problems);
  return { name, description: typeof spec.description === "string" ? spec.description : "", build, run, container };
}
