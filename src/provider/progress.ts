import { appendFileSync, mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * What a build looks like under `pulumi up`. The engine passes its address to the provider plugin
 * (src/provider/main.ts calls `useEngine`): progress lines are sent there as ephemeral
 * diagnostics on the resource's URN, which the engine's display shows in the resource's row while it runs
 * (and does not keep). Every line also goes to `.cybernode/logs/<group>-<name>.log` in the project, which
 * errors point to: the full log outlives the run.
 */

/** The log file of one image's builds under Pulumi. Pure. */
export function buildLogPath(projectDir: string, image: string): string {
  return join(projectDir, ".cybernode", "logs", `${image.replace("/", "-")}.log`);
}

let engineAddr: string | null = null;

/** Called by the plugin's entry point with the address the engine gave it; until then nothing is sent. */
export function useEngine(address: string | undefined): void {
  engineAddr = address && /^[\w.[\]:-]+:\d+$/.test(address) ? address : null;
  client = undefined;
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
  log(urn: string, message: string, ephemeral: boolean): Promise<void>;
}

let client: EngineLogClient | null | undefined;

/** One gRPC client to the engine per plugin process; null when not under the engine. */
function engineClient(): EngineLogClient | null {
  if (client !== undefined) return client;
  if (!engineAddr) {
    client = null;
    return client;
  }
  // Loaded on first use, from the SDK's own copies (bundled into dist/plugin.js with it).
  const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
  const rpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as typeof import("@pulumi/pulumi/proto/engine_grpc_pb");
  const pb = require("@pulumi/pulumi/proto/engine_pb") as typeof import("@pulumi/pulumi/proto/engine_pb");
  const engine = new rpc.EngineClient(engineAddr, grpc.credentials.createInsecure());
  client = {
    log: (urn, message, ephemeral) =>
      new Promise((resolve) => {
        const req = new pb.LogRequest();
        req.setSeverity(pb.LogSeverity.INFO);
        req.setMessage(message);
        req.setUrn(urn);
        req.setEphemeral(ephemeral);
        // Progress is best effort: a lost line must not fail the build.
        engine.log(req, () => resolve());
      }),
  };
  return client;
}

/**
 * An info diagnostic on a resource that the engine keeps (shown under the resource in preview and up);
 * on stderr when not under the engine.
 */
export async function tell(urn: string | undefined, message: string): Promise<void> {
  const engine = engineClient();
  if (engine && urn) await engine.log(urn, message, false);
  else process.stderr.write(`${message}\n`);
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
  const engine = o.urn ? engineClient() : null;

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
    inFlight = inFlight.then(() => engine.log(urn, statusText(text), true));
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
