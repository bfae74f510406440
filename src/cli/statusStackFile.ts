import { load } from "js-yaml";
import { InputError } from "../imageSpec/errors";
import { misspelledNamespaces, projectKey } from "../stack/configKeys";

/**
 * A stack file as `cybernode status` reads it without Pulumi: `config` values by key, secrets (`secure:`)
 * replaced by placeholders, since status never needs their values. Pure.
 */

/** What stands in for a secret value: status never needs one (buildEnv must stay a map to validate). */
const placeholder = (key: string) => (key === "buildEnv" ? "{}" : "(secret)");

const isSecure = (v: unknown): boolean =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;

/** Replaces nested `{ secure: ... }` values (pulumi config set --secret --path); true when there were any. */
function scrubSecure(v: unknown): { value: unknown; secret: boolean } {
  if (isSecure(v)) return { value: "(secret)", secret: true };
  if (Array.isArray(v)) {
    const items = v.map(scrubSecure);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v).map(([k, x]) => [k, scrubSecure(x)] as const);
    return { value: Object.fromEntries(entries.map(([k, x]) => [k, x.value])), secret: entries.some(([, x]) => x.secret) };
  }
  return { value: v, secret: false };
}

/**
 * The project's keys of a stack file (`cybernode:nodes`, or `nodes` without a namespace, as Pulumi reads it)
 * as the Pulumi program receives them: plain values as strings,
 * objects as JSON text; `{ secure: v1:... }` values become placeholders and their keys are marked secret.
 */
export function stackFileConfig(text: string, stackFile: string): { raw: Record<string, unknown>; secretKeys: Set<string> } {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (e) {
    throw new InputError(`stack file ${stackFile}`, [`is not valid YAML: ${(e as Error).message.split("\n")[0]}`]);
  }
  const config = doc === null || doc === undefined ? {} : (doc as { config?: unknown }).config;
  if (
    (doc !== null && doc !== undefined && typeof doc !== "object") ||
    Array.isArray(doc) ||
    (config != null && typeof config !== "object")
  )
    throw new InputError(`stack file ${stackFile}`, ['must be a YAML map with a config: section, e.g. config: { "cybernode:host": ... }']);
  const entries = Object.entries((config ?? {}) as Record<string, unknown>);
  const typos = misspelledNamespaces(entries.map(([k]) => k));
  if (typos.length) throw new InputError(`stack file ${stackFile}`, typos);
  const raw: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [k, v] of entries) {
    const key = projectKey(k);
    if (key === null) continue;
    const { value, secret } = scrubSecure(v);
    if (secret) secretKeys.add(key);
    if (isSecure(v)) raw[key] = placeholder(key);
    else if (typeof value === "object" && value !== null) raw[key] = JSON.stringify(value);
    else raw[key] = value === null || value === undefined ? "" : String(value);
  }
  return { raw, secretKeys };
}

/**
 * Secrets the nodes refer to (`${secret:key}` in the stack's or the specs' args) but the stack file does
 * not hold (not set on this checkout): placeholders, so status still works; `pulumi up` reports them.
 */
export function withUnsetSecrets(raw: Record<string, unknown>, secretKeys: Set<string>, texts: string[]): void {
  for (const text of texts)
    for (const m of text.matchAll(/\$\{secret:([A-Za-z][A-Za-z0-9_]*)\}/g))
      if (raw[m[1]] === undefined) {
        raw[m[1]] = placeholder(m[1]);
        secretKeys.add(m[1]);
      }
}
