import { shellQuote } from "../common/shell";
import type { NodePlan } from "../stack/nodeConfig";

/**
 * The pure parts of `cybernode status`: `docker inspect` JSON → a node's row, formatting, the height
 * parse and the exit code. Stack files: statusStackFile.ts. Effects (docker, du) live in status.ts.
 */

export const DEFAULT_HOST = "unix:///var/run/docker.sock";

/** The parts of one `docker inspect` entry status reads. */
export interface ContainerInspect {
  Name?: string;
  Image?: string;
  RestartCount?: number;
  State?: {
    Status?: string;
    ExitCode?: number;
    OOMKilled?: boolean;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string; FailingStreak?: number; Log?: { ExitCode?: number; Output?: string }[] | null };
  };
  Config?: { Labels?: Record<string, string> | null };
}

/** `docker inspect a b c` stdout (a JSON array of the ones found) by container name. */
export function containersByName(stdout: string, names: string[]): Map<string, ContainerInspect> {
  const list: unknown = stdout.trim() === "" ? [] : JSON.parse(stdout);
  if (!Array.isArray(list)) throw new Error(`docker inspect printed ${stdout.slice(0, 80)}, not a JSON array`);
  const found = new Map<string, ContainerInspect>();
  // inspect also matches ID prefixes: only an exact name counts.
  for (const c of list as ContainerInspect[]) if (c.Name && names.includes(c.Name.slice(1))) found.set(c.Name.slice(1), c);
  return found;
}

/** A data folder's size, or why there is none; `partial`: du could not read all of it (the size is a floor). */
export type DataSize = { bytes: number; partial?: string } | { note: string };
/** Outcome of the node's status command; null when it was not asked (no command, or not running). */
export type HeightResult = { height: number } | { error: string } | null;

export interface NodeStatus {
  node: string;
  /** Image spec, e.g. fullnode/btcd. */
  image: string;
  /** Docker's state (running, exited, restarting, paused, created, dead) or "missing". */
  state: string;
  exitCode: number | null;
  /** healthy, unhealthy or starting; null without a health check or when not running. */
  health: string | null;
  restarts: number | null;
  startedAt: string | null;
  uptimeSeconds: number | null;
  version: string | null;
  imageId: string | null;
  imageIdShort: string | null;
  dataPath: string;
  dataBytes: number | null;
  /** Why there is no size: "missing" (no folder) or what failed. */
  dataNote: string | null;
  height: number | null;
  heightError: string | null;
  /** What is wrong and what to do, or null when the node is fine. */
  problem: string | null;
}

/** Docker's "never" is 0001-01-01. */
const time = (s: string | undefined): number | null => {
  const t = s ? Date.parse(s) : Number.NaN;
  return Number.isNaN(t) || t <= 0 ? null : t;
};

/** A docker command as the user would type it for this host. */
export function dockerCommand(host: string, args: string): string {
  return host === DEFAULT_HOST || host === "" ? `docker ${args}` : `DOCKER_HOST=${host} docker ${args}`;
}

/** One node's row and problem. Pure; `now` in ms since the epoch. */
export function nodeStatus(i: {
  node: NodePlan;
  container: ContainerInspect | undefined;
  dataPath: string;
  data: DataSize;
  height: HeightResult;
  stack: string;
  host: string;
  now: number;
}): NodeStatus {
  const c = i.container;
  const name = i.node.name;
  const state = c ? (c.State?.Status ?? "unknown") : "missing";
  const running = state === "running";
  const started = time(c?.State?.StartedAt);
  const health = running ? (c?.State?.Health?.Status ?? null) : null;
  const image = c?.Image ?? null;
  const row: NodeStatus = {
    node: name,
    image: i.node.image,
    state,
    exitCode: c && !running ? (c.State?.ExitCode ?? null) : null,
    health,
    restarts: c ? (c.RestartCount ?? 0) : null,
    startedAt: started === null ? null : new Date(started).toISOString(),
    uptimeSeconds: running && started !== null ? Math.max(0, Math.floor((i.now - started) / 1000)) : null,
    version: c?.Config?.Labels?.version ?? null,
    imageId: image,
    imageIdShort: image ? image.replace(/^sha256:/, "").slice(0, 12) : null,
    dataPath: i.dataPath,
    dataBytes: "bytes" in i.data ? i.data.bytes : null,
    dataNote: "note" in i.data ? i.data.note : (i.data.partial ?? null),
    height: i.height && "height" in i.height ? i.height.height : null,
    heightError: i.height && "error" in i.height ? i.height.error : null,
    problem: null,
  };
  const problems: string[] = [];
  const logs = dockerCommand(i.host, `logs --tail 50 ${name}`);
  if (!c) problems.push(`no container ${name}: create it with: npx pulumi up --stack ${i.stack}`);
  else if (!running) {
    const finished = time(c.State?.FinishedAt);
    const detail = [
      state,
      ...(state === "created" ? ["never started"] : []),
      ...(row.exitCode ? [`exit code ${row.exitCode}`] : []),
      ...(c.State?.OOMKilled ? ["killed: out of memory"] : []),
      ...(finished !== null && state !== "restarting" ? [`${formatDuration((i.now - finished) / 1000)} ago`] : []),
      ...(row.restarts ? [`${row.restarts} restarts`] : []),
    ].join(", ");
    const fix = state === "paused" ? dockerCommand(i.host, `unpause ${name}`) : `${logs}, then ${dockerCommand(i.host, `start ${name}`)}`;
    problems.push(`not running (${detail}): ${state === "paused" ? "resume it with" : "see why with"} ${fix}`);
  } else if (health === "unhealthy") {
    const log = c.State?.Health?.Log ?? [];
    const last = firstLine(log[log.length - 1]?.Output ?? "");
    problems.push(
      `unhealthy (${c.State?.Health?.FailingStreak ?? "?"} failed checks${last ? `, last: ${last}` : ""}): see ${dockerCommand(i.host, `inspect --format '{{json .State.Health}}' ${name}`)} and ${logs}`,
    );
  }
  if (row.heightError !== null)
    problems.push(
      `height command failed: ${row.heightError}: try ${dockerCommand(i.host, `exec ${name} ${(i.node.operation.status ?? []).join(" ")}`)}`,
    );
  row.problem = problems.length ? problems.join("; ") : null;
  return row;
}

/** First non-empty line, shortened. */
export function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  const t = line.trim();
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
}

/** The block height: the last output line that is a whole number (monerod logs a line before it). */
export function parseHeight(stdout: string): number | null {
  const lines = stdout.split("\n").map((l) => l.trim());
  for (let j = lines.length - 1; j >= 0; j--) if (/^\d{1,15}$/.test(lines[j])) return Number(lines[j]);
  return null;
}

/** What the status command's run says. */
export function heightResult(r: { exitCode: number | null; stdout: string; stderr: string; timedOutAfter: number | null }): HeightResult {
  if (r.timedOutAfter !== null) return { error: `no answer within ${r.timedOutAfter} s` };
  const height = parseHeight(r.stdout);
  if (r.exitCode === 0 && height !== null) return { height };
  if (r.exitCode !== 0) return { error: firstLine(r.stderr) || firstLine(r.stdout) || `exit code ${r.exitCode}` };
  const out = firstLine(r.stdout.trim().split("\n").pop() ?? "");
  return { error: `no block height in its output${out ? ` (last line: ${out})` : ""}` };
}

/**
 * One script measuring every node's data folder: prints `name<TAB>bytes<TAB>du's exit code` (not 0 when it
 * could not read everything: a node's files are its uid's, mode 0700 or 0600), or `name<TAB>missing`.
 */
export function duScript(folders: [string, string][]): string {
  return folders
    .map(([name, path]) => {
      const [n, p] = [shellQuote(name), shellQuote(path)];
      return `if [ -d ${p} ]; then s=$(du -sb -- ${p} 2>/dev/null); c=$?; printf '%s\\t%s\\t%s\\n' ${n} "\${s%%[[:space:]]*}" "$c"; else printf '%s\\tmissing\\n' ${n}; fi`;
    })
    .join("\n");
}

export function parseDu(stdout: string, names: string[]): Map<string, DataSize> {
  const out = new Map<string, DataSize>();
  for (const line of stdout.split("\n")) {
    const [name, value, code] = line.split("\t");
    if (!names.includes(name)) continue;
    const partial =
      "du could not read all of it as this user (the nodes' files are their uid's): the size is at least this; run status as root for all of it";
    out.set(
      name,
      /^\d+$/.test(value ?? "")
        ? { bytes: Number(value), ...(code !== undefined && code !== "0" ? { partial } : {}) }
        : value === "missing"
          ? { note: "missing" }
          : { note: "du could not read it" },
    );
  }
  for (const n of names) if (!out.has(n)) out.set(n, { note: "not measured" });
  return out;
}

/** 45s, 12m5s, 3h12m, 2d4h. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Decimal units, as disks are sold: 1.2 GB. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let v = bytes / 1000;
  let u = 0;
  while (v >= 999.95 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The text report: a header, one aligned line per node, then one line per problem. */
export function formatReport(header: string, rows: NodeStatus[]): string {
  const cells = rows.map((r) => [
    r.node,
    r.state,
    r.health ?? "-",
    `restarts ${r.restarts ?? "-"}`,
    `up ${r.uptimeSeconds === null ? "-" : formatDuration(r.uptimeSeconds)}`,
    r.version ?? "-",
    r.imageIdShort ?? "-",
    `data ${r.dataBytes !== null ? `${r.dataNote ? "≥" : ""}${formatSize(r.dataBytes)}` : r.dataNote === "missing" ? "missing" : "?"}`,
    `height ${r.height ?? (r.heightError !== null ? "?" : "-")}`,
  ]);
  const widths = cells[0]?.map((_, col) => Math.max(...cells.map((c) => c[col].length))) ?? [];
  const lines = [header, ...cells.map((c) => c.map((cell, col) => (col === c.length - 1 ? cell : cell.padEnd(widths[col]))).join("  "))];
  const problems = rows.filter((r) => r.problem !== null);
  if (problems.length) lines.push(`${problems.length} problem(s):`, ...problems.map((r) => `  ${r.node}: ${r.problem}`));
  const unmeasured = rows.filter((r) => r.dataNote !== "missing" && r.dataNote !== null);
  for (const r of unmeasured) lines.push(`note: ${r.node}: data folder ${r.dataPath}: ${r.dataNote}`);
  return `${lines.join("\n")}\n`;
}

/** 1 when any node is missing, not running, unhealthy or its status command failed. */
export function statusExitCode(rows: NodeStatus[]): number {
  return rows.some((r) => r.problem !== null) ? 1 : 0;
}

/** The clearest line of a failed `docker version` (ssh failures bury the reason after `stderr=`). */
export function unreachableReason(stderr: string): string {
  const after = /stderr=(.+)/s.exec(stderr)?.[1];
  return firstLine(after ?? stderr) || "no answer";
}
