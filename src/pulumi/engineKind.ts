import { daemonInfo, type EngineKind, onDockerHost } from "../docker/cli";

/**
 * Which engine serves a stack's host: Docker's dockerd or Podman's API service. The two report some
 * container settings back differently (containerSettings.ts), and the Docker provider diffs what it
 * reads back, so the program declares each setting the way the host's engine reports it. A function of
 * the provider plugin (a Pulumi invoke): it runs at every preview and up, in the plugin process, which
 * already talks to the engine; under the unit tests' mocks it is answered without one.
 */
export const ENGINE_KIND_TOKEN = "cybernode-images:index:engineKind";

export interface EngineKindResult {
  kind: EngineKind;
  version: string;
}

export async function engineKindFunction(inputs: { host?: string }): Promise<EngineKindResult> {
  const host = String(inputs.host ?? "");
  const info = await onDockerHost(host, () => daemonInfo());
  return { kind: info.kind, version: info.serverVersion };
}
