// zx as these scripts use it: commands print nothing unless asked (their output is read or goes into
// an error), a failed command rejects with its exit code and stderr.
import { $, ProcessOutput } from "zx";

$.verbose = false;
$.quiet = true;

export { $ };

/** A failure the scripts explain themselves; `failing` names the daemon whose log tail helps. */
export class ClusterError extends Error {
  constructor(
    message: string,
    readonly failing?: string,
  ) {
    super(message);
  }
}

/**
 * For the user: a ClusterError's message, or what a failed command said, where in these scripts it ran
 * and its exit code (zx's message holds all three).
 */
export function describeError(e: unknown): string {
  if (!(e instanceof ProcessOutput)) return e instanceof Error ? e.message : String(e);
  const where = /\n\s*at (.+)\n/.exec(e.message)?.[1];
  const said = (e.stderr.trim() || e.stdout.trim()).split("\n").slice(-10).join("\n");
  return `a command failed (exit ${e.exitCode ?? e.signal})${where ? ` at ${where}` : ""}: ${said || "(no output)"}`;
}

/** Whether a command exits 0 (its output is dropped). */
export async function succeeds(p: Promise<ProcessOutput>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export type Log = (line: string) => void;

/** "[prefix] line" on stdout (or the given stream). */
export function logTo(prefix: string, stream: NodeJS.WritableStream = process.stdout): Log {
  return (line) => stream.write(`[${prefix}] ${line}\n`);
}
