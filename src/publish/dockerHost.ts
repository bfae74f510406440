import { dockerStream } from "../docker/cli";
import type { RunImagePlan } from "../archive/imageArchive";
import type { Destination, Publisher } from "./publisher";

/** What went where when a run image was shipped to another Docker host. */
export interface ShipResult {
  host: string;
  /** False when the host already had this image ID (nothing was sent). */
  transferred: boolean;
  bytes: number;
}

async function dockerAt(
  host: string,
  args: string[],
  stdin?: Buffer,
  timeoutMs = 10 * 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  const run = await dockerStream(args, {
    host,
    stdin,
    timeoutMs,
    onStdout: async (s) => void s.on("data", (c: Buffer) => (stdout += c.toString())),
  });
  return { code: run.exitCode, stdout: stdout.trim(), stderr: run.stderr.trim() };
}

/** Advice for a Docker host that does not answer, by URL scheme. */
export function hostAdvice(host: string): string {
  if (host.startsWith("ssh://"))
    return "check that `ssh` to it works without a password (ssh key, known_hosts) and that the user is in the docker group there";
  if (host.startsWith("tcp://")) return "check the address, the port and the TLS settings (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)";
  return "check that dockerd runs there and that you may use its socket";
}

/**
 * Loads a planned run image onto another Docker host (`docker load` through DOCKER_HOST=host), unless
 * that host already has the image ID. Tags are set there as here.
 */
export async function shipRunImage(plan: RunImagePlan, host: string): Promise<ShipResult> {
  const probe = await dockerAt(host, ["image", "inspect", "--format", "{{.Id}}", plan.imageId], undefined, 60_000);
  if (probe.code === 0 && probe.stdout === plan.imageId) {
    for (const t of plan.repoTags) await dockerAt(host, ["tag", plan.imageId, t]);
    return { host, transferred: false, bytes: 0 };
  }
  if (probe.code !== 0 && !/no such image/i.test(probe.stderr)) {
    throw new Error(`Docker host ${host} did not answer: ${probe.stderr.split("\n").pop()}; ${hostAdvice(host)}`);
  }
  const load = await dockerAt(host, ["load", "--quiet"], plan.archive);
  if (load.code !== 0) throw new Error(`loading ${plan.repoTags[0]} onto ${host} failed: ${load.stderr}; ${hostAdvice(host)}`);
  const check = await dockerAt(host, ["image", "inspect", "--format", "{{.Id}}", plan.repoTags[0]]);
  if (check.stdout !== plan.imageId)
    throw new Error(`${host} reports ${check.stdout} for ${plan.repoTags[0]} after loading, expected ${plan.imageId}`);
  return { host, transferred: true, bytes: plan.archive.length };
}

/** Publishes to another Docker host with `docker load` (nothing is sent when it has the image ID). */
export function dockerHostPublisher(destination: Extract<Destination, { kind: "docker-host" }>): Publisher {
  return {
    destination,
    publish: async ({ plan }) => {
      const r = await shipRunImage(plan, destination.host);
      return { pullRef: "", bytesSent: r.bytes };
    },
  };
}
