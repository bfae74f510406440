import { isObject, type Report } from "./fields";

/**
 * Checks for how a node is operated (stop signal and grace, health check, status command, secret files,
 * limits, logs), shared by image specs and per-node overrides in stack files. Pure; each reports problems
 * with the field it concerns and returns a usable value.
 */

/** Health check with every value filled in (seconds). */
export interface Health {
  command: string[];
  interval: number;
  timeout: number;
  retries: number;
  startPeriod: number;
}

export const HEALTH_DEFAULTS = { interval: 30, timeout: 10, retries: 3, startPeriod: 60 } as const;
export const DEFAULT_STOP_SIGNAL = "SIGTERM";
export const DEFAULT_STOP_GRACE = 60;
/** An hour: longer than any daemon here needs to flush, short enough to catch a value in milliseconds. */
export const MAX_STOP_GRACE = 3600;

/** Signals a daemon can be asked to stop with (Linux names; Docker accepts them with or without SIG). */
const SIGNALS = ["HUP", "INT", "QUIT", "USR1", "USR2", "TERM", "WINCH", "PWR"];

/** A signal name such as SIGTERM or TERM (also SIGRTMIN+3 for init-style daemons), normalised to SIGXXX. */
export function checkSignal(field: string, v: unknown, bad: Report): string {
  if (typeof v !== "string") {
    bad(field, `${JSON.stringify(v)} must be a signal name such as SIGTERM or SIGINT`);
    return DEFAULT_STOP_SIGNAL;
  }
  const name = v.toUpperCase().replace(/^SIG/, "");
  if (SIGNALS.includes(name) || /^RTMIN\+([1-9]|1[0-5])$/.test(name)) return `SIG${name}`;
  bad(field, `'${v}' is not a signal a daemon stops on; use one of ${SIGNALS.map((s) => `SIG${s}`).join(", ")}`);
  return DEFAULT_STOP_SIGNAL;
}

/** Whole seconds within [min, max]. */
export function checkSeconds(field: string, v: unknown, min: number, max: number, bad: Report, fallback: number): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  bad(field, `${JSON.stringify(v)} must be whole seconds from ${min} to ${max}`);
  return fallback;
}

export function checkGrace(field: string, v: unknown, bad: Report, fallback = DEFAULT_STOP_GRACE): number {
  return checkSeconds(field, v, 1, MAX_STOP_GRACE, bad, fallback);
}

/**
 * A program of the image run without a shell: a non-empty list of strings whose first entry is an
 * absolute path inside the image (scratch images have no PATH lookup).
 */
export function checkImageCommand(field: string, v: unknown, bad: Report): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string")) {
    bad(field, 'must be a non-empty list of strings, e.g. ["/cyberapp/btcctl", "getblockcount"]');
    return [];
  }
  const cmd = v as string[];
  if (!cmd[0].startsWith("/") || cmd[0].split("/").includes(".."))
    bad(
      field,
      `'${cmd[0]}' must be an absolute path inside the image such as /cyberapp/${cmd[0].replace(/^.*\//, "")} (no shell, no PATH)`,
    );
  if (cmd.some((x) => x.includes("\0"))) bad(field, "contains a NUL byte");
  return cmd;
}

/**
 * `{ command, interval?, timeout?, retries?, startPeriod? }`. `base` fills fields a node leaves out (the
 * image's own check), so a node can change only the interval.
 */
export function checkHealth(field: string, v: unknown, bad: Report, base: Health | null): Health | null {
  if (!isObject(v)) {
    bad(field, "must be { command: [...], interval?, timeout?, retries?, startPeriod? } (seconds)");
    return null;
  }
  for (const k of Object.keys(v))
    if (!["command", "interval", "timeout", "retries", "startPeriod"].includes(k))
      bad(`${field}.${k}`, "unknown field (command, interval, timeout, retries, startPeriod)");
  if (v.command === undefined && !base) {
    bad(`${field}.command`, 'missing: the program that checks the node, e.g. ["/cyberapp/btcctl", "getblockcount"]');
    return null;
  }
  const d = base ?? { command: [], ...HEALTH_DEFAULTS };
  const secs = (k: "interval" | "timeout" | "startPeriod", min: number, max: number) =>
    v[k] === undefined ? d[k] : checkSeconds(`${field}.${k}`, v[k], min, max, bad, d[k]);
  const h: Health = {
    command: v.command === undefined ? d.command : checkImageCommand(`${field}.command`, v.command, bad),
    interval: secs("interval", 1, 86400),
    timeout: secs("timeout", 1, 3600),
    retries: v.retries === undefined ? d.retries : checkSeconds(`${field}.retries`, v.retries, 1, 100, bad, d.retries),
    startPeriod: secs("startPeriod", 0, 86400),
  };
  if (h.timeout > h.interval) bad(`${field}.timeout`, `${h.timeout} s is longer than the interval (${h.interval} s)`);
  return h;
}

const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** What is wrong with a secret file's template (text, each `${random}` filled on the host), or null. Pure. */
export function templateProblem(text: unknown): string | null {
  if (typeof text !== "string" || text.length > 4096 || text.includes("\0")) return "must be text of at most 4096 characters";
  if (/\$\{(?!random\})[^}]*\}/.test(text)) return "the only placeholder is ${random}";
  return null;
}

/** name → template of files made once in the data folder; `${random}` is the only placeholder. */
export function checkSecretFiles(field: string, v: unknown, bad: Report): [string, string][] {
  if (v === undefined) return [];
  if (!isObject(v)) {
    bad(field, 'must be a map of file name → text, e.g. { "rpc.conf": "rpcuser=cybernode\\nrpcpass=${random}\\n" }');
    return [];
  }
  const out: [string, string][] = [];
  for (const [name, text] of Object.entries(v)) {
    if (!FILE_NAME_RE.test(name) || name.length > 100)
      bad(`${field}.${name}`, "must be a plain file name in the data folder (letters, digits, '.', '_', '-'; no '/')");
    else {
      const problem = templateProblem(text);
      if (problem) bad(`${field}.${name}`, problem);
      else out.push([name, text as string]);
    }
  }
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Memory as Docker takes it (512m, 2g, 1.5g) → MiB, at least 6 (Docker's minimum). */
export function parseMemoryMiB(field: string, v: unknown, bad: Report): number | undefined {
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)([mg])$/i.exec(v.trim()) : null;
  if (!m) {
    bad(field, `${JSON.stringify(v)} must be a size such as "512m" or "4g"`);
    return undefined;
  }
  const mib = Math.round(Number(m[1]) * (m[2].toLowerCase() === "g" ? 1024 : 1));
  if (mib < 6 || mib > 4 * 1024 * 1024) {
    bad(field, `${v} is outside 6m-4096g`);
    return undefined;
  }
  return mib;
}

/** CPUs as `docker run --cpus` takes them: a positive number of cores such as 1.5. */
export function parseCpus(field: string, v: unknown, bad: Report): string | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!(n >= 0.01 && n <= 1024)) {
    bad(field, `${JSON.stringify(v)} must be a number of cores from 0.01 to 1024, e.g. 1.5`);
    return undefined;
  }
  return String(n);
}

export interface LogRotation {
  /** Size of one json-file log before it rotates, as Docker takes it (e.g. 50m). */
  maxSize: string;
  /** Files kept. */
  maxFiles: number;
}

export const DEFAULT_LOGS: LogRotation = { maxSize: "50m", maxFiles: 3 };

export function checkLogs(field: string, v: unknown, bad: Report): LogRotation {
  if (!isObject(v)) {
    bad(field, 'must be { maxSize: "50m", maxFiles: 3 }');
    return DEFAULT_LOGS;
  }
  for (const k of Object.keys(v)) if (!["maxSize", "maxFiles"].includes(k)) bad(`${field}.${k}`, "unknown field (maxSize, maxFiles)");
  const out = { ...DEFAULT_LOGS };
  if (v.maxSize !== undefined) {
    const m = typeof v.maxSize === "string" ? /^(\d+)([kmg])$/i.exec(v.maxSize) : null;
    const bytes = m ? Number(m[1]) * 1024 ** ("kmg".indexOf(m[2].toLowerCase()) + 1) : 0;
    if (!m || bytes < 10 * 1024 || bytes > 100 * 1024 ** 3)
      bad(`${field}.maxSize`, `${JSON.stringify(v.maxSize)} must be a size from 10k to 100g, e.g. "50m"`);
    else out.maxSize = (v.maxSize as string).toLowerCase();
  }
  if (v.maxFiles !== undefined)
    out.maxFiles = checkSeconds(
      `${field}.maxFiles`,
      v.maxFiles,
      1,
      100,
      (f) => bad(f, `${JSON.stringify(v.maxFiles)} must be a whole number from 1 to 100`),
      out.maxFiles,
    );
  return out;
}
