import * as pulumi from "./pulumiSdk";
import type { DataDirInputs } from "../provider/dataDirOps";

/** A node's data folder (dataDirOps.ts), run by the provider plugin; retained when Pulumi deletes it. */
export class DataDir extends pulumi.CustomResource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: { [K in keyof DataDirInputs]: pulumi.Input<DataDirInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
    super("cybernode-images:index:DataDir", name, args, { ...opts, retainOnDelete: true });
  }
}
