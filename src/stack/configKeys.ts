/**
 * Which stack-file keys are the project's, by Pulumi's rules: `cybernode:nodes`, and a key without a
 * namespace (`nodes`), which Pulumi files under the project's name. A key in another namespace belongs to
 * a provider (`docker:host`) and is not ours, unless the namespace is a misspelling of ours
 * (`cybrnode:host`): Pulumi would keep it apart and the nodes would silently deploy to the default host.
 */

export const PROJECT_NAMESPACE = "cybernode";

/** A stack name as the CLI accepts it (it names stacks/Pulumi.<stack>.yaml: no path separators). */
export const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The key inside the project's namespace (`nodes` for `cybernode:nodes` or `nodes`), else null. Pure. */
export function projectKey(key: string): string | null {
  const colon = key.indexOf(":");
  if (colon === -1) return key;
  return key.slice(0, colon) === PROJECT_NAMESPACE ? key.slice(colon + 1) : null;
}

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment), as
 * people mistype: `cybrenode` is one edit from `cybernode`. Pure.
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** One problem per key whose namespace is within two edits of the project's (case too), for the stack file's error. Pure. */
export function misspelledNamespaces(keys: string[]): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const colon = key.indexOf(":");
    if (colon === -1) continue;
    const ns = key.slice(0, colon);
    if (ns === PROJECT_NAMESPACE || editDistance(ns.toLowerCase(), PROJECT_NAMESPACE) > 2) continue;
    problems.push(
      `${key}: '${ns}' is not this project's namespace, so Pulumi would keep the value apart and the program would never see it; write ${PROJECT_NAMESPACE}:${key.slice(colon + 1)}`,
    );
  }
  return problems;
}
