import * as pulumi from "../pulumiSdk";
import type { SecretFilesInputs } from "../../provider/secretFilesOps";

/** A node's secret files on a cluster (secretFilesOps.ts), run by the provider plugin; the values are secret outputs. */
export class SecretFiles extends pulumi.CustomResource {
  declare readonly files: pulumi.Output<Record<string, string>>;
  constructor(name: string, args: SecretFilesInputs, opts?: pulumi.CustomResourceOptions) {
    super("cybernode-images:index:SecretFiles", name, { ...args, files: undefined }, { ...opts, additionalSecretOutputs: ["files"] });
  }
}
