import { spawn } from "node:child_process";
import type { Destination, Publisher } from "./publisher";

/**
 * Imports a run image into a Kubernetes node's containerd (namespace k8s.io, where the kubelet looks),
 * for clusters without a registry (one node, tests): `ctr images import` of the same archive Docker
 * loads, then a tag naming the image ID, so a Pod that runs `cybernode/<repo>:cid-<hex>` with
 * imagePullPolicy Never runs exactly this image and a new image changes the Pod template.
 */

/** The tag Pods use for an imported image: the repository and the image ID. Pure. */
export function importedRef(localTag: string, imageId: string): string {
  const repo = localTag.slice(0, localTag.lastIndexOf(":"));
  return `${repo}:cid-${imageId.replace(/^sha256:/, "")}`;
}

/** containerd's full name of a docker-style reference (docker.io/… for names without a registry). Pure. */
export function containerdName(ref: string): string {
  const first = ref.split("/")[0];
  const hasRegistry = ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasRegistry) return ref;
  return ref.includes("/") ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

/** `unix:///path` or `/path` → `/path`. Pure. */
export const socketPath = (s: string) => s.replace(/^unix:\/\//, "");

function ctr(socket: string, args: string[], input?: Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("ctr", ["--address", socketPath(socket), "--namespace", "k8s.io", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
    child.on("error", (e) => resolve({ code: null, stdout, stderr: `${e.message} (is containerd's ctr installed?)` }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/** Whether the node's containerd has the reference. */
export async function containerdHas(socket: string, ref: string): Promise<boolean> {
  const r = await ctr(socket, ["images", "ls", "-q", `name==${containerdName(ref)}`]);
  if (r.code !== 0) throw new Error(`containerd at ${socket} did not answer: ${r.stderr.trim()}`);
  return r.stdout.trim() !== "";
}

export function containerdPublisher(destination: Extract<Destination, { kind: "containerd" }>): Publisher {
  const { socket } = destination;
  return {
    destination,
    publish: async ({ plan, imageId, tag }) => {
      const ref = importedRef(tag, imageId);
      if (await containerdHas(socket, ref)) return { pullRef: ref, bytesSent: 0 };
      const imported = await ctr(socket, ["images", "import", "-"], plan.archive);
      if (imported.code !== 0)
        throw new Error(
          `importing ${tag} into containerd at ${socket} failed: ${imported.stderr.trim()}; check that the socket is the node's containerd and that this user may use it`,
        );
      const tagged = await ctr(socket, ["images", "tag", "--force", containerdName(tag), containerdName(ref)]);
      if (tagged.code !== 0) throw new Error(`tagging ${ref} in containerd at ${socket} failed: ${tagged.stderr.trim()}`);
      return { pullRef: ref, bytesSent: plan.archive.length };
    },
  };
}
