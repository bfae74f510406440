/**
 * The builder modules the dynamic providers use (providerRuntime.ts `builder()`), as one entry point:
 * scripts/bundle.mjs compiles it to dist/provider.js, which the provider process loads instead of the
 * TypeScript sources when it is current (bin/bundled.js).
 */
export * as assemble from "../build/assemble";
export * as build from "../build/builder";
export * as cli from "../docker/cli";
export * as containerd from "../publish/containerd";
export * as engine from "../docker/engine";
export * as extract from "../build/extract";
export * as hash from "../plan/hash";
export * as imageId from "../docker/imageId";
export * as interrupts from "../docker/interrupts";
export * as load from "../spec/load";
export * as manifest from "../build/manifest";
export * as plan from "../build/plan";
export * as progress from "./progress";
export * as publish from "../publish/publisher";
export * as providers from "./builderProviders";
