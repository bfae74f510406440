import { currentDockerHost, dockerMaybe, onDockerHost } from "./cli";
import { engineGet } from "./engineApi";

/**
 * The ID of an image on a Docker host, or null when the host does not have it. Previews ask this
 * several times per image, so on a local unix socket it asks the Engine API directly instead of
 * starting a docker CLI process each time; anything else (ssh://, tcp://, a docker context) goes
 * through the CLI as every other call does.
 */
export async function imageIdOf(ref: string, host: string = currentDockerHost()): Promise<string | null> {
  const api = await engineGet(`/images/${encodeURI(ref)}/json`, host);
  if (api?.status === 404) return null;
  const id = api?.status === 200 ? (api.body as { Id?: unknown }).Id : undefined;
  if (typeof id === "string") return id;
  return onDockerHost(host, () => dockerMaybe(["image", "inspect", "--format", "{{.Id}}", ref]));
}
