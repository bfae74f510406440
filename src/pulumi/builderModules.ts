/**
 * The builder modules the image providers use, as one namespace (`b` in builderProviders.ts and
 * providerRuntime.ts): the provider plugin (src/pulumi/plugin/) runs them in its own process.
 */
export * as assemble from "../build/assemble";
export * as baseImages from "../build/baseImages";
export * as build from "../build/builder";
export * as containerd from "../publish/containerd";
export * as engine from "../docker/engine";
export * as hash from "../plan/hash";
export * as imageId from "../docker/imageId";
export * as interrupts from "../docker/interrupts";
export * as load from "../spec/load";
export * as manifest from "../build/manifest";
export * as plan from "../build/plan";
export * as progress from "./progress";
export * as publish from "../publish/publisher";
export * as steps from "../plan/steps";
export * as temporaries from "../docker/temporaries";
