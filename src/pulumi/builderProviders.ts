import { engineWorld } from "./engineWorld";
import { imageProviders } from "./imageProviders";

/**
 * The builder's three phases as the provider plugin serves them (cybernode-images:index:BuildImage,
 * Binaries, RunImage): the decisions of imageProviders.ts over the engine-backed World, one per plugin
 * process (one engine run). The export names stay those of the dynamic providers that stacks made
 * before the plugin: their serialized shims load this file to delete old resources.
 */
export type * from "./providerTypes";
export { PROVIDER_VERSION } from "./providerTypes";
export { binariesDigest } from "./providerRuntime";
export { DIFF_KEYS } from "./imageProviders";

const providers = imageProviders(engineWorld());
export const buildImageProvider = providers.buildImage;
export const binariesProvider = providers.binaries;
export const runImageProvider = providers.runImage;
