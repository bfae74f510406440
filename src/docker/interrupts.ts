import { dockerEnv } from "./cli";
import { defaultEngine, type Engine, Interrupted } from "./engine";

/**
 * What SIGINT and SIGTERM do in a process that builds: cancel the engine's work (its AbortSignal kills
 * running docker children), remove its temporary containers and scratch folders, exit 130/143. Only
 * entry points call this (the CLI's main, the Pulumi provider process); library code never installs
 * handlers. Returns the engine to run the work on. Installed once per process.
 */
let installed: Engine | null = null;
let controller: AbortController | null = null;

export function removeTemporariesOnSignals(): Engine {
  if (installed) return installed;
  const abort = new AbortController();
  controller = abort;
  const engine: Engine = { ...defaultEngine, signal: abort.signal };
  installed = engine;
  const envFor = (host: string) => dockerEnv(host);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      // Quiet when there is nothing to clean up (e.g. Pulumi ending a provider process after a preview).
      const n = engine.temporaries.count;
      if (n > 0 || engine.temporaries.children.size > 0)
        process.stderr.write(`\ncybernode: ${sig}: removing ${n} temporary container(s)\n`);
      abort.abort(new Interrupted(sig));
      engine.temporaries.removeAllSync(envFor);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
  // Whatever ends the process (an uncaught error, process.exit elsewhere) leaves no temporary behind.
  process.on("exit", () => engine.temporaries.removeAllSync(envFor));
  return engine;
}

/**
 * Cancels the work of this process without ending it: what the provider plugin does when the engine asks
 * it to cancel (the first Ctrl-C of `pulumi up`). Running docker children are killed through the
 * engine's signal, so each build fails at once and its own error path removes its temporaries; work
 * started afterwards fails at once too. Finished steps stay cached. Nothing to do before any work started.
 */
export function cancelRunningWork(why: string): void {
  controller?.abort(new Interrupted(why));
}
