import { engineWorld } from "./engineWorld";
import { imageOps } from "./imageOps";

/**
 * The builder's three phases as the provider plugin serves them (cybernode-images:index:BuildImage,
 * Binaries, RunImage): the decisions of imageOps.ts over the engine-backed World, one per plugin
 * process (one engine run).
 */
export type * from "./types";
export { PROVIDER_VERSION } from "./types";
export { binariesDigest } from "./storedInputs";
export { DIFF_KEYS } from "./imageOps";

const providers = imageOps(engineWorld());
export const buildImageProvider = providers.buildImage;
export const binariesProvider = providers.binaries;
export const runImageProvider = providers.runImage;
