import { secretFilesProvider } from "../../kubernetes/secretFilesOps";
import { binariesProvider, buildImageProvider, runImageProvider } from "../builderProviders";
import { dataDirProvider } from "../dataDirOps";
import type { ResourceTable } from "./dispatch";

/** Every resource type of the `cybernode` package, as the program declares them (imageResource.ts and others). */
export const RESOURCE_TYPES: ResourceTable = {
  "cybernode:index:BuildImage": buildImageProvider,
  "cybernode:index:Binaries": binariesProvider,
  "cybernode:index:RunImage": runImageProvider,
  "cybernode:index:DataDir": dataDirProvider,
  "cybernode:index:SecretFiles": secretFilesProvider,
};
