import * as pulumi from "@pulumi/pulumi";
import type { SecretFilesInputs } from "./secretFilesOps";
export { fillRandom, secretFilesProvider } from "./secretFilesOps";

export class SecretFileValues extends pulumi.CustomResource {
  declare readonly files: pulumi.Output<Record<string, string>>;
  constructor(name: string, args: SecretFilesInputs, opts?: pulumi.CustomResourceOptions) {
    super("cybernode-images:index:SecretFiles", name, { ...args, files: undefined }, { ...opts, additionalSecretOutputs: ["files"] });
  }
}
