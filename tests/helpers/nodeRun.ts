import type { ResolvedSpec } from "../../src/spec/validate";

/**
 * `docker run -d` arguments for a node as the program declares it: uid 1000, the default hardening
 * (read-only root, a tmpfs /tmp, no capabilities, no-new-privileges), the spec's stop signal and grace,
 * the data folder at /cyberdata, then the spec's container args and the node's own. The health check is
 * the image's, checked every 2 s from the start, as a node may override it (tests need no 60 s interval).
 * `options` go before the image (e.g. --restart, --network, -p).
 */
export function nodeRunArgs(o: {
  name: string;
  spec: ResolvedSpec;
  imageId: string;
  data: string;
  options?: string[];
  args?: string[];
}): string[] {
  return [
    "run",
    "-d",
    "--name",
    o.name,
    ...(o.options ?? []),
    "-u",
    "1000:1000",
    "--read-only",
    "--tmpfs",
    "/tmp:rw,nosuid,nodev,size=64m",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
    "--stop-signal",
    o.spec.container.stopSignal,
    "--stop-timeout",
    String(o.spec.container.stopGrace),
    "--health-interval",
    "2s",
    "--health-start-period",
    "0s",
    "-v",
    `${o.data}:/cyberdata`,
    o.imageId,
    ...o.spec.container.args,
    ...(o.args ?? []),
  ];
}
