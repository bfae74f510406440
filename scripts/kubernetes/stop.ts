// Stops the single-node test cluster of WORKDIR and removes every trace of it (stopCluster.ts says what
// and in which order). Idempotent.
//
// Usage: npx tsx scripts/kubernetes/stop.ts WORKDIR
import { STOP_COMMAND } from "./settings";
import { describeError, logTo } from "./shell";
import { realpathMissing, refusedWorkdir, stopCluster } from "./stopCluster";

const log = logTo("stop-kubernetes");
const logError = logTo("stop-kubernetes", process.stderr);

async function main(args: string[]): Promise<number> {
  if (args.length !== 1 || !args[0]) {
    process.stderr.write(`usage: ${STOP_COMMAND} WORKDIR\n`);
    return 2;
  }
  const w = realpathMissing(args[0]);
  if (refusedWorkdir(w)) {
    logError(`refusing WORKDIR ${w}`);
    return 2;
  }
  return stopCluster(w, log, logError);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    logError(`ERROR: ${describeError(e)}`);
    process.exitCode = 1;
  },
);
