import { docker } from "../docker/cli";

import { registryTag } from "../common/registryRef";
import type { Destination, Publisher } from "./publisher";

export interface PushResult {
  /** `<registry>/<repo>@sha256:…`: what hosts pull; immutable. */
  ref: string;
  digest: string;
}

/**
 * Pushes a loaded run image to a registry and returns the digest reference hosts pull. Pushing the
 * same image again uploads nothing (the registry has the blobs) and gives the same digest.
 */
export async function pushRunImage(imageId: string, localTag: string, registry: string): Promise<PushResult> {
  const remote = registryTag(registry, localTag);
  const repo = remote.slice(0, remote.lastIndexOf(":"));
  await docker(["tag", imageId, remote]);
  try {
    await docker(["push", remote]);
  } catch (e) {
    throw new Error(
      `pushing ${remote} failed: ${(e as Error).message}. Check that the registry answers (curl http://${registry.split("/")[0]}/v2/) and that you are logged in (docker login ${registry.split("/")[0]}).`,
    );
  }
  const digests = JSON.parse(await docker(["image", "inspect", "--format", "{{json .RepoDigests}}", imageId])) as string[] | null;
  const ref = (digests ?? []).find((d) => d.startsWith(`${repo}@`));
  if (!ref) throw new Error(`pushed ${remote} but Docker reports no digest for ${repo}`);
  return { ref, digest: ref.slice(ref.indexOf("@") + 1) };
}

/** Publishes to a registry: push, then hosts pull the digest reference. */
export function registryPublisher(destination: Extract<Destination, { kind: "registry" }>): Publisher {
  return {
    destination,
    publish: async ({ imageId, tag }) => ({ pullRef: (await pushRunImage(imageId, tag, destination.registry)).ref, bytesSent: 0 }),
  };
}
