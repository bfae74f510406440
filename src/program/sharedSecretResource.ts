import * as pulumi from "./pulumiSdk";
import type { SharedSecretInputs } from "../common/sharedSecret";

/** A stack's shared secret on a Docker or Podman host (sharedSecretOps.ts); retained when Pulumi deletes it. */
export class SharedSecret extends pulumi.CustomResource {
  declare readonly dir: pulumi.Output<string>;
  declare readonly stamp: pulumi.Output<string>;
  declare readonly generation: pulumi.Output<string>;
  constructor(
    name: string,
    args: { [K in keyof SharedSecretInputs]: pulumi.Input<SharedSecretInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      "cybernode-images:index:SharedSecret",
      name,
      { ...args, stamp: undefined, generation: undefined },
      { ...opts, retainOnDelete: true },
    );
  }
}
