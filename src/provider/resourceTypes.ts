import { secretFilesProvider } from "./secretFilesOps";
import { binariesProvider, buildImageProvider, runImageProvider } from "./imageResources";
import { dataDirProvider } from "./dataDirOps";
import { sharedSecretProvider } from "./sharedSecretOps";
import type { FunctionTable, ResourceTable } from "./dispatch";
import { CHECK_HOST_TOKEN, checkHost } from "./hostCheck";
import { PROVIDER_VERSION, PROVIDER_VERSION_TOKEN } from "./types";

/**
 * Every resource type of the `cybernode-images` package, as the program declares them (imageResource.ts and
 * others). Not `cybernode`: a package's default provider receives the stack config of its own namespace,
 * so with the project's name every `cybernode:*` change would list a provider update in previews and
 * copy the whole stack config into the provider's state.
 */
export const RESOURCE_TYPES: ResourceTable = {
  "cybernode-images:index:BuildImage": buildImageProvider,
  "cybernode-images:index:Binaries": binariesProvider,
  "cybernode-images:index:RunImage": runImageProvider,
  "cybernode-images:index:DataDir": dataDirProvider,
  "cybernode-images:index:SecretFiles": secretFilesProvider,
  "cybernode-images:index:SharedSecret": sharedSecretProvider,
};

/** The package's functions (Pulumi invokes), which the program calls at every preview and up. */
export const FUNCTIONS: FunctionTable = {
  [CHECK_HOST_TOKEN]: checkHost,
  [PROVIDER_VERSION_TOKEN]: async () => ({ version: PROVIDER_VERSION }),
};
