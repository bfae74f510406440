import type { Destination, Publisher } from "./publisher";

/** Containers run on the build host, where the builder loaded the run image already: nothing to send. */
export function buildHostPublisher(destination: Extract<Destination, { kind: "build-host" }>): Publisher {
  return { destination, publish: async () => ({ pullRef: "", bytesSent: 0 }) };
}
