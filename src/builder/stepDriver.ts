import { shellQuote } from "../common/shell";

/**
 * The scripts a build container runs. Consecutive uncached steps share one container: a driver runs each
 * step as its own `sh -e` (a fresh shell, stdin from /dev/null, as if it had a container of its own), then
 * prints a marker line and waits on stdin while the builder commits the container (the step's cache image);
 * the builder's "go" line lets the next step start. One container start instead of one per step: a
 * container start is most of a cold build's fixed cost.
 */

/** What one step runs: the working directory, then the step's command under `set -e`. */
export function stepScript(command: string, workdir: string): string {
  return `set -e\ncd ${shellQuote(workdir)}\n${command}\n`;
}

/** File name of a step's script inside /cyberbuild. */
export const stepFile = (index: number) => `step-${index}.sh`;

/** The line the driver prints after a step succeeded; the nonce keeps step output from forging it. */
export const markerLine = (nonce: string, index: number) => `@@cybernode-step-done ${nonce} ${index}`;

/**
 * What the driver appends to a marker when it is the only process left in the container (PID 1, no step
 * left anything running): nothing can change the files while it waits, so the commit need not pause the
 * container (pausing and unpausing is a large part of a commit's time).
 */
export const QUIET = " quiet";

/** A driver output line as the marker it may be and whether the driver said it was alone. Pure. */
export function readMarker(line: string): { marker: string; quiet: boolean } {
  const quiet = line.endsWith(QUIET);
  return { marker: quiet ? line.slice(0, -QUIET.length) : line, quiet };
}

/** The reply that lets the driver go on; anything else (or end of input) stops it with EXIT_NO_GO. */
export const GO = "go";
/** Driver exit code when the builder went away or refused to continue (never a step's own failure). */
export const EXIT_NO_GO = 97;

/** Where the driver packs the final results: a folder of the host mounted read-write (never committed). */
export const PACK_DIR = "/cyberout";

/** File name, inside PACK_DIR, of the archive of the n-th (0-based) packed path. */
export const packFile = (n: number) => `${n}.tar`;

/**
 * Shell lines that archive each path the way the Engine API's archive endpoint does (`docker cp c:/path -`:
 * one entry named after the path's last element, links not followed), one tar per path. A path that cannot
 * be archived (no tar in the image, a missing file) leaves no archive: the builder then asks the engine,
 * which gives the precise error. Never fails the step. Pure.
 */
export function packLines(paths: string[]): string[] {
  if (paths.length === 0) return [];
  const lines = paths.map((p, n) => {
    const slash = p.lastIndexOf("/");
    const dir = slash > 0 ? p.slice(0, slash) : "/";
    const out = `${PACK_DIR}/${packFile(n)}`;
    return `  tar -cf ${out} -C ${shellQuote(dir)} ${shellQuote(p.slice(slash + 1))} >/dev/null 2>&1 || rm -f ${out}`;
  });
  return ["if command -v tar >/dev/null 2>&1; then", ...lines, "fi"];
}

/**
 * The driver for steps `indices` (1-based). The env file is exported into every step. With `cleanup` (the
 * build files were copied into the container, not mounted) /cyberbuild and /cyberinputs are removed before
 * each marker, so they are never committed; that mode runs one step per container. With `pack`, the last
 * step's results at those paths are archived into PACK_DIR before its marker (see packLines). Pure.
 */
export function driverScript(indices: number[], nonce: string, cleanup = false, pack: string[] = []): string {
  if (cleanup && indices.length !== 1) throw new Error("copied build files allow one step per container");
  if (cleanup && pack.length) throw new Error("packing needs a mounted output folder, not copied build files");
  const lines = ["set -a", ". /cyberbuild/env", "set +a"];
  for (const i of indices) {
    lines.push(`/bin/sh /cyberbuild/${stepFile(i)} </dev/null || exit $?`);
    if (cleanup) lines.push("cd / && rm -rf /cyberbuild /cyberinputs");
    if (i === indices.at(-1)) lines.push(...packLines(pack));
    // Alone when /proc lists one process and it is this shell (an unmounted /proc leaves the pattern as is).
    lines.push(`set -- /proc/[0-9]*; q=; [ "$#" -eq 1 ] && [ "$1" = "/proc/$$" ] && q=${shellQuote(QUIET)}`);
    // The newline first: a step whose output does not end in one still leaves the marker on its own line.
    lines.push(`printf '\\n%s%s\\n' ${shellQuote(markerLine(nonce, i))} "$q"`);
    lines.push(`read -r reply || exit ${EXIT_NO_GO}`, `[ "$reply" = ${GO} ] || exit ${EXIT_NO_GO}`);
  }
  return `${lines.join("\n")}\n`;
}
