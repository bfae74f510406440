import { posix } from "node:path";
import { REGISTRY_RE } from "../common/registryRef";
import { isObject, isValidUid } from "../imageSpec/fields";

/**
 * The stack file's single-value keys, one parser each (the stack key without `cybernode:` in problems).
 * Pure; validateStackConfig (config.ts) calls them and checks across keys.
 */

/** A problem with a key (without `cybernode:`). */
export type Bad = (key: string, what: string) => void;

export function parseHost(v: unknown, bad: Bad): string {
  const hostRaw = v ?? "unix:///var/run/docker.sock";
  if (typeof hostRaw !== "string" || hostRaw === "")
    bad("host", "must be a Docker host URL such as unix:///var/run/docker.sock or ssh://cyber@node1");
  else if (!/^(unix:\/\/\/.+|tcp:\/\/[^/\s]+|ssh:\/\/[^/\s@]+@[^/\s]+|ssh:\/\/[^/\s]+|npipe:\/\/.+)$/.test(hostRaw))
    bad("host", `'${hostRaw}' has an unsupported scheme or form; use unix:///path, tcp://host:port or ssh://user@host[:port]`);
  else return hostRaw;
  return "";
}

/** The uid nodes run as: the key, else user cyber's; null when neither is there (only nodes need one). -1 when bad. */
export function parseUid(v: unknown, cyberUid: number | null, bad: Bad): number | null {
  if (v === undefined) return cyberUid;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (!isValidUid(n)) bad("uid", `${JSON.stringify(v)} must be a non-negative whole number (the numeric uid of user cyber)`);
  else if (n === 0) bad("uid", "0 is root; fullnodes run as a non-root uid");
  else return n;
  return -1;
}

export function parseDataRoot(v: unknown, bad: Bad): string {
  const dataRootRaw = v ?? "/home/cyber/cyberdata";
  if (typeof dataRootRaw !== "string" || dataRootRaw.trim() === "")
    bad("dataRoot", "must be an absolute folder such as /home/cyber/cyberdata");
  else if (!dataRootRaw.startsWith("/"))
    bad("dataRoot", `'${dataRootRaw}' is relative; give an absolute folder such as /home/cyber/cyberdata`);
  else if (dataRootRaw.split("/").includes("..")) bad("dataRoot", `'${dataRootRaw}' must not contain '..'`);
  else return posix.normalize(dataRootRaw).replace(/\/$/, "") || "/";
  return "";
}

export function parseBool(key: string, v: unknown, dflt: boolean, bad: Bad): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  bad(key, `${JSON.stringify(v)} must be true or false`);
  return dflt;
}

export function parseBuildOn(v: unknown, bad: Bad): "local" | "host" {
  const buildOn = v ?? "local";
  if (buildOn === "local" || buildOn === "host") return buildOn;
  bad("buildOn", `${JSON.stringify(buildOn)} must be 'local' (build here, load onto the host) or 'host' (build on the target)`);
  return "local";
}

export function parseBaseImages(v: unknown, bad: Bad): Record<string, string> {
  const baseImages: Record<string, string> = {};
  if (v === undefined) return baseImages;
  if (!isObject(v)) bad("baseImages", 'must be a map of image → local image, e.g. { "golang:1.26-bookworm": "local/golang:1.26" }');
  else
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === "string" && x !== "") baseImages[k] = x;
      else bad(`baseImages.${k}`, "must name a local image");
    }
  return baseImages;
}

export function parsePromoteFrom(v: unknown, stack: string, bad: Bad): string {
  if (v === undefined) return "";
  if (typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v))
    bad("promoteFrom", `${JSON.stringify(v)} must be the name of another stack, e.g. staging`);
  else if (v === stack)
    bad("promoteFrom", `stack ${stack} cannot promote from itself; name the stack whose tested images it should run, e.g. staging`);
  else return v;
  return "";
}

export function parseRegistry(v: unknown, bad: Bad): string {
  if (v === undefined) return "";
  if (typeof v === "string" && REGISTRY_RE.test(v)) return v;
  bad(
    "registry",
    `${JSON.stringify(v)} is not a registry address; write host[:port][/path], e.g. registry.example.com:5000/cybernode (no scheme)`,
  );
  return "";
}
