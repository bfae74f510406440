import { validateStackConfig } from "../../src/stack/config";
import { type ContainerSettings, containerSettings } from "../../src/program/containerSettings";
import type { ResolvedSpec } from "../../src/imageSpec/validate";

/**
 * `docker run` flags for what a node's docker.Container declares (src/program/containerSettings.ts):
 * uid, restart policy, hardening, stop signal and grace, limits, logs, labels, ports. For tests of the
 * images themselves (daemons that must run under those settings) and the bench's raw-docker anchor; what
 * the Docker provider does with the same settings is tested under the real provider in tests/deploy.
 * Settings values are plain here (the program passes no Outputs to containerSettings).
 */
export function dockerRunFlags(s: ContainerSettings): string[] {
  const flags: string[] = ["-u", String(s.user), "--restart", String(s.restart)];
  if (s.readOnly) flags.push("--read-only");
  for (const [path, opts] of Object.entries((s.tmpfs ?? {}) as Record<string, string>)) flags.push("--tmpfs", `${path}:${opts}`);
  const caps = s.capabilities as { drops?: string[]; adds?: string[] } | undefined;
  for (const c of caps?.drops ?? []) flags.push("--cap-drop", c);
  for (const c of caps?.adds ?? []) flags.push("--cap-add", c);
  for (const o of (s.securityOpts ?? []) as string[]) flags.push("--security-opt", o);
  flags.push("--stop-signal", String(s.stopSignal), "--stop-timeout", String(s.stopTimeout));
  if (s.memory !== undefined) flags.push("--memory", `${s.memory}m`, "--memory-swap", `${s.memorySwap}m`);
  if (s.cpus !== undefined) flags.push("--cpus", String(s.cpus));
  flags.push("--log-driver", String(s.logDriver));
  for (const [k, v] of Object.entries((s.logOpts ?? {}) as Record<string, string>)) flags.push("--log-opt", `${k}=${v}`);
  for (const l of (s.labels ?? []) as { label: string; value: string }[]) flags.push("--label", `${l.label}=${l.value}`);
  for (const p of (s.ports ?? []) as { internal: number; external: number; ip: string; protocol: string }[])
    flags.push("-p", `${p.ip}:${p.external}:${p.internal}/${p.protocol}`);
  for (const e of (s.envs ?? []) as string[]) flags.push("-e", e);
  return flags;
}

/** The settings the program declares for one node of `spec` with these args and ports (none unless given), as `uid`. */
export function declaredSettings(
  name: string,
  spec: ResolvedSpec,
  args: string[] = [],
  ports: string[] = [],
  uid = 1000,
): ContainerSettings {
  // A spec that reads shared secrets gets one per file, as a stack must give it (the caller mounts them).
  const shared = Object.fromEntries(spec.container.sharedSecretFiles.map((file, i) => [`shared-${i}`, { file }]));
  const plan = validateStackConfig(
    {
      uid: String(uid),
      sharedSecrets: shared,
      nodes: { [name]: { image: spec.name, ports, args, secrets: Object.keys(shared) } },
    },
    { stack: "test", stackFile: "(test)", specs: new Map([[spec.name, spec]]), cyberUid: 1000, secretKeys: new Set() },
  );
  return containerSettings(plan.nodes[0], plan);
}

/**
 * `docker run -d` arguments for a node as the program declares it (declaredSettings), the data folder at
 * /cyberdata, then the spec's container args and the node's own. The health check is the image's,
 * checked every 2 s from the start, as a node may override it (tests need no 60 s interval).
 * `options` go after the declared flags and win over them (e.g. --restart, --network, -p).
 */
export function nodeRunArgs(o: {
  name: string;
  spec: ResolvedSpec;
  imageId: string;
  data: string;
  options?: string[];
  args?: string[];
}): string[] {
  const args = o.args ?? [];
  return [
    "run",
    "-d",
    "--name",
    o.name,
    ...dockerRunFlags(declaredSettings(o.name, o.spec, args)),
    "--health-interval",
    "2s",
    "--health-start-period",
    "0s",
    ...(o.options ?? []),
    "-v",
    `${o.data}:/cyberdata`,
    o.imageId,
    ...o.spec.container.args,
    ...args,
  ];
}
