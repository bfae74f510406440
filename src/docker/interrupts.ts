import { dockerEnv } from "./cli";
import { defaultEngine, type Engine, Interrupted } from "./engine";

/**
 * What SIGINT and SIGTERM do in a process that builds: cancel the engine's work (its AbortSignal kills
 * running docker children), remove its temporary containers and scratch folders, exit 130/143. Only
 * entry points call this (the CLI's main, the Pulumi provider process); library code never installs
 * handlers. Returns the engine to run the work on. Installed once per process.
 */
let installed: Engine | null = null;

export function removeTemporariesOnSignals(): Engine {
  if (installed) return installed;
  const controller = new AbortController();
  const engine: Engine = { ...defaultEngine, signal: controller.signal };
  installed = engine;
  const envFor = (host: string) => dockerEnv(host);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      // Quiet when there is nothing to clean up (e.g. Pulumi ending a provider process after a preview).
      const n = engine.temporaries.count;
      if (n > 0 || engine.temporaries.children.size > 0)
        process.stderr.write(`\ncybernode: ${sig}: removing ${n} temporary container(s)\n`);
      controller.abort(new Interrupted(sig));
      engine.temporaries.removeAllSync(envFor);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
  // Whatever ends the process (an uncaught error, process.exit elsewhere) leaves no temporary behind.
  process.on("exit", () => engine.temporaries.removeAllSync(envFor));
  return engine;
}
