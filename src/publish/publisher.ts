import type { RunImagePlan } from "../archive/imageArchive";

/**
 * Where a run image goes once the builder has loaded it on the build host. One small interface, one
 * file per destination (this one says which; buildHost.ts, dockerHost.ts, registry.ts do the work),
 * so Pulumi resources and the CLI pick a destination instead of branching, and another destination
 * (a tarball for offline hosts, say) is one new file and one case in `destinationFor`.
 */
export type Destination =
  /** Containers run where the image was built: loading it there was the whole job. */
  | { kind: "build-host" }
  /** Another Docker (or Docker-API) host: `docker load` through DOCKER_HOST=<host>, skipped when it has the ID. */
  | { kind: "docker-host"; host: string }
  /** A registry: push, and hosts pull `<registry>/<repo>@sha256:…`. */
  | { kind: "registry"; registry: string }
  /** A Kubernetes node's containerd (target `containerd:///path.sock`): `ctr images import`, Pods run the tag. */
  | { kind: "containerd"; socket: string };

export interface Publication {
  /** What the nodes run: `<registry>/<repo>@sha256:…` for a registry, the imported tag for containerd, else "". */
  pullRef: string;
  /** Bytes sent to another host (0 when it already had the image, or for the build host). */
  bytesSent: number;
}

export interface Publisher {
  readonly destination: Destination;
  publish(image: { plan: RunImagePlan; imageId: string; tag: string }): Promise<Publication>;
}

/**
 * Where a stack's run images go. Pure. `buildHost`/`targetHost` are Docker host URLs, "" for this
 * machine's default; a registry wins (hosts pull from it), then a target other than the build host.
 */
export function destinationFor(o: { registry?: string; targetHost?: string; buildHost?: string }): Destination {
  if (o.registry) return { kind: "registry", registry: o.registry };
  if (o.targetHost?.startsWith("containerd://")) return { kind: "containerd", socket: o.targetHost.slice("containerd://".length) };
  if (o.targetHost && o.targetHost !== (o.buildHost ?? "")) return { kind: "docker-host", host: o.targetHost };
  return { kind: "build-host" };
}

/** The Docker host a destination's containers find the image on ("" = the build host's default). Pure. */
export function runHostOf(d: Destination, buildHost = ""): string {
  return d.kind === "docker-host" ? d.host : buildHost;
}

/**
 * The publisher for a destination; each is loaded only when used. `require`, not `import()`: the
 * Pulumi provider process loads this project through tsx's CommonJS hook, where a dynamic import of
 * an extensionless TypeScript path fails.
 */
export async function publisherFor(d: Destination): Promise<Publisher> {
  switch (d.kind) {
    case "build-host":
      return (require("./buildHost") as typeof import("./buildHost")).buildHostPublisher(d);
    case "docker-host":
      return (require("./dockerHost") as typeof import("./dockerHost")).dockerHostPublisher(d);
    case "registry":
      return (require("./registry") as typeof import("./registry")).registryPublisher(d);
    case "containerd":
      return (require("./containerd") as typeof import("./containerd")).containerdPublisher(d);
  }
}
