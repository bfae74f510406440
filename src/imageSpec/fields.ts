import { posix } from "node:path";
import type { PortProtocol } from "./types";

/**
 * Field checks shared by image specs and stack config: each takes the field's name for messages and
 * reports problems to `bad` instead of throwing, so one validation run lists every problem. Pure.
 */

export const IMAGE_NAME_RE = /^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/;
export const CONTAINER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A plain file name (a secret file): no '/', not '.' or '..'. */
export const SECRET_FILE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const CACHE_NAME_RE = /^[a-z0-9][a-z0-9_.-]*$/;
export const RESTART_RE = /^(no|always|unless-stopped|on-failure(:[1-9][0-9]*)?)$/;
export const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** Docker image reference, loosely: repo[:tag][@digest], lower-case repository. */
const IMAGE_REF_RE = /^[a-z0-9][a-z0-9._\-/:]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

export type Report = (field: string, what: string) => void;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function isValidUid(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 31;
}

/** Parses `8333`, `"8333"` or `"8333/udp"`; returns an error text or the port. */
export function parsePort(v: unknown): { port: number; protocol: PortProtocol } | string {
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v : undefined;
  const m = text === undefined ? null : /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  if (!m) return `${JSON.stringify(v)} is not a port; write 8333 or "8333/udp"`;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return `${port} is outside 1-65535`;
  return { port, protocol: (m[2] as PortProtocol | undefined) ?? "tcp" };
}

/** Reports keys of a section the spec format does not have (a typo would otherwise be ignored silently). */
export function unknownFields(section: string, v: Record<string, unknown>, known: string[], bad: Report): void {
  for (const k of Object.keys(v)) if (!known.includes(k)) bad(`${section}.${k}`, `unknown field (${known.join(", ")})`);
}

const byKey = ([a]: [string, string], [b]: [string, string]) => (a < b ? -1 : a > b ? 1 : 0);

/** How a label map's keys are judged: `reserved` says why a key may not be set here (or null); `keyField` names a key's field. */
interface LabelRules {
  reserved: (key: string) => string | null;
  keyField: (key: string) => string;
}

/** Labels key: value, sorted by key; problems are reported under each key's field. */
function labelMap(bad: Report, field: string, v: unknown, o: LabelRules): [string, string][] {
  if (v === undefined) return [];
  if (!isObject(v)) {
    bad(field, "must be a map of label: value");
    return [];
  }
  const out: [string, string][] = [];
  for (const [k, val] of Object.entries(v)) {
    const why = k === "" || /\s/.test(k) ? "label keys must be non-empty without spaces" : o.reserved(k);
    if (why) bad(o.keyField(k), why);
    else if (typeof val !== "string") bad(o.keyField(k), "value must be a string");
    else if (val.includes("\0")) bad(o.keyField(k), "value contains a NUL byte");
    else out.push([k, val]);
  }
  return out.sort(byKey);
}

/** The checks, bound to one report function. */
export function fieldChecks(bad: Report) {
  return {
    /** A list of strings (command lines, args): no NUL bytes, optionally no empty entries. */
    strings(field: string, v: unknown, opts: { nonEmpty?: boolean } = {}): string[] {
      if (v === undefined) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        bad(field, "must be a list of strings");
        return [];
      }
      if (opts.nonEmpty && v.some((x) => (x as string).trim() === "")) bad(field, "contains an empty string");
      if (v.some((x) => (x as string).includes("\0"))) bad(field, "contains a NUL byte, which no command line can carry");
      return v as string[];
    },

    /** Environment variables NAME: value, sorted by name; problems are reported as `<field>.<NAME>`. */
    envMap(field: string, v: unknown): [string, string][] {
      if (v === undefined) return [];
      if (!isObject(v)) {
        bad(field, "must be a map of NAME: value");
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
      return out.sort(byKey);
    },

    labelMap: (field: string, v: unknown, o: LabelRules) => labelMap(bad, field, v, o),

    /** A Docker restart policy; returns it, or "" after reporting. */
    restart(field: string, v: unknown): string {
      if (typeof v === "string" && RESTART_RE.test(v)) return v;
      bad(field, `${JSON.stringify(v)} must be one of no, always, unless-stopped, on-failure[:N]`);
      return "";
    },

    imageRef(field: string, v: unknown): string {
      if (typeof v !== "string" || v.trim() === "") {
        bad(field, "must name an image, e.g. golang:1.26-bookworm");
        return "";
      }
      if (v !== "scratch" && !IMAGE_REF_RE.test(v)) bad(field, `'${v}' is not a valid image reference`);
      return v;
    },

    absPath(field: string, v: unknown): string {
      if (typeof v !== "string" || v === "") {
        bad(field, "must be an absolute path");
        return "";
      }
      if (!v.startsWith("/")) bad(field, `'${v}' is not an absolute path; write it as /${v}`);
      else if (v.split("/").includes("..")) bad(field, `'${v}' must not contain '..'`);
      return posix.normalize(v);
    },
  };
}

export type FieldChecks = ReturnType<typeof fieldChecks>;
