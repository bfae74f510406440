import { appendFileSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * What a build looks like under `pulumi up`. The dynamic-provider host of @pulumi/pulumi does not connect
 * the SDK's `pulumi.log` to the engine (its settings have no engine address), but the engine passes that
 * address to the provider process as its first argument: progress lines are sent there as ephemeral
 * diagnostics on the resource's URN, which the engine's display shows in the resource's row while it runs
 * (and does not keep). Every line also goes to `.cybernode/logs/<group>-<name>.log` in the project, which
 * errors point to: the full log outlives the run.
 */

/** The log file of one image's builds under Pulumi. Pure. */
export function buildLogPath(projectDir: string, image: string): string {
  return join(projectDir, ".cybernode", "logs", `${image.replace("/", "-")}.log`);
}

/** The engine's address when this process is the dynamic-provider host the engine started, else null. */
export function engineAddress(argv: string[] = process.argv): string | null {
  const main = argv[1] ?? "";
  const addr = argv[2] ?? "";
  return /dynamic-provider/.test(main) && /^[\w.[\]:-]+:\d+$/.test(addr) ? addr : null;
}

/** A progress line as the display shows it: one line, at most `max` characters. Pure. */
export function statusText(line: string, max = 160): string {
  const one = line.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Logs are appended build after build; past this size the old one becomes `<name>.log.1` (one kept). */
export const MAX_LOG_BYTES = 8 << 20;

function rotateLog(path: string, max: number): void {
  try {
    if (statSync(path).size > max) renameSync(path, `${path}.1`);
  } catch {
    // no log yet
  }
}

interface EngineLogClient {
  log(urn: string, message: string): Promise<void>;
}

let client: EngineLogClient | null | undefined;

/** One gRPC client to the engine per provider process; null when not under the engine. */
function engineClient(projectDir: string): EngineLogClient | null {
  if (client !== undefined) return client;
  const addr = engineAddress();
  if (!addr) {
    client = null;
    return client;
  }
  const from = { paths: [projectDir] };
  // grpc-js as @pulumi/pulumi itself resolves it (a dependency of the SDK, not of this project).
  const sdkDir = dirname(require.resolve("@pulumi/pulumi/package.json", from));
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] })) as typeof import("@grpc/grpc-js");
  const rpc = require(require.resolve("@pulumi/pulumi/proto/engine_grpc_pb", from)) as typeof import("@pulumi/pulumi/proto/engine_grpc_pb");
  const pb = require(require.resolve("@pulumi/pulumi/proto/engine_pb", from)) as typeof import("@pulumi/pulumi/proto/engine_pb");
  const engine = new rpc.EngineClient(addr, grpc.credentials.createInsecure());
  client = {
    log: (urn, message) =>
      new Promise((resolve) => {
        const req = new pb.LogRequest();
        req.setSeverity(pb.LogSeverity.INFO);
        req.setMessage(message);
        req.setUrn(urn);
        req.setEphemeral(true);
        // Progress is best effort: a lost line must not fail the build.
        engine.log(req, () => resolve());
      }),
  };
  return client;
}

export interface Progress {
  /** One line of the builder's output. */
  line(text: string): void;
  /** Where the full log is. */
  readonly logPath: string;
  /** Whether this phase wrote to it. */
  readonly written: boolean;
  /** Waits for the messages in flight. */
  flush(): Promise<void>;
}

/**
 * Progress of one phase of one image: every line to the log file; to the engine the step headers and
 * results at once and other output at most every `intervalMs` (the latest line), so a long step shows
 * that it moves without flooding the display.
 */
export function phaseProgress(o: {
  projectDir: string;
  image: string;
  phase: string;
  urn?: string;
  intervalMs?: number;
  maxLogBytes?: number;
}): Progress {
  const logPath = buildLogPath(o.projectDir, o.image);
  const engine = o.urn ? engineClient(o.projectDir) : null;

  const interval = o.intervalMs ?? 2000;
  let opened = false;
  let lastSent = 0;
  let held: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  const send = (text: string) => {
    if (!engine || !o.urn) return;
    lastSent = Date.now();
    const urn = o.urn;
    inFlight = inFlight.then(() => engine.log(urn, statusText(text)));
  };
  const sendHeld = () => {
    timer = null;
    if (held !== null) send(held);
    held = null;
  };
  return {
    logPath,
    get written() {
      return opened;
    },
    line(text: string) {
      if (!opened) {
        mkdirSync(join(o.projectDir, ".cybernode", "logs"), { recursive: true });
        rotateLog(logPath, o.maxLogBytes ?? MAX_LOG_BYTES);
        appendFileSync(logPath, `\n=== ${new Date().toISOString()} ${o.image}: ${o.phase} (pulumi) ===\n`);
        opened = true;
      }
      appendFileSync(logPath, `${text}\n`);
      // Step headers ("$ command") and results ("done in") always; other lines throttled.
      if (/\] (\$ |done in )/.test(text) || Date.now() - lastSent >= interval) {
        if (timer) clearTimeout(timer);
        timer = null;
        held = null;
        send(text);
      } else {
        held = text;
        timer ??= setTimeout(sendHeld, interval - (Date.now() - lastSent));
        timer.unref();
      }
    },
    async flush() {
      if (timer) clearTimeout(timer);
      sendHeld();
      await inFlight;
    },
  };
}
