import { spawn } from "node:child_process";
import { join } from "node:path";

export const CLI = join(__dirname, "../../bin/cybernode.js");

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/cybernode.js ...args` (in `cwd`, default this process's); `whileRunning` may act on the child (e.g. send SIGINT). */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  whileRunning?: (child: ReturnType<typeof spawn>) => void,
  cwd?: string,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    whileRunning?.(child);
  });
}

/** The value of one `key value` line of `cybernode inspect` output, or undefined. */
export function inspectField(stdout: string, key: string): string | undefined {
  return stdout
    .split("\n")
    .find((l) => l.startsWith(`${key} `))
    ?.slice(key.length)
    .trim();
}
