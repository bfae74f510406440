import { main } from "@pulumi/pulumi/provider/server";
import type { Provider } from "@pulumi/pulumi/provider";
import { cancelRunningWork } from "../docker/interrupts";
import { useEngine } from "./progress";
import { engineArgument, pluginProvider } from "./dispatch";
import { FUNCTIONS, RESOURCE_TYPES } from "./resourceTypes";

/**
 * The `cybernode-images` provider plugin: Pulumi starts it (bin/pulumi-resource-cybernode-images, declared in
 * Pulumi.yaml under plugins.providers) with the engine's address and talks gRPC to it. One process per
 * engine run serves every image and data-folder resource of the stack; it loads the builder once, from
 * dist/plugin.js while that is current, else from the sources.
 */
export const PLUGIN_VERSION = "1.0.0";

export function serve(args: string[]): Promise<void> {
  useEngine(engineArgument(args));
  const provider = {
    ...pluginProvider(RESOURCE_TYPES, PLUGIN_VERSION, FUNCTIONS),
    // The engine's Cancel (first Ctrl-C): stop running builds now rather than let them finish.
    cancel: async () => cancelRunningWork("pulumi cancelled the update"),
  };
  // The SDK's Provider types results loosely (DiffResult has more optional fields than we return).
  return main(provider as Provider, args);
}
