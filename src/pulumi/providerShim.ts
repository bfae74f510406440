import type * as pulumi from "@pulumi/pulumi";

/**
 * What Pulumi serializes for each image resource: a few lines that load the real provider
 * (builderProviders.ts) in the provider process, from dist/provider.js while it is current, else from the
 * sources through tsx. Serializing the providers themselves with everything they call cost the program
 * about 0.4 s of every preview and up (28.8k characters each, parsed with TypeScript by the SDK; measured
 * 1.2 s for the three vs 0.8 s when they were smaller) and doubled the state file. The shim captures nothing
 * but its kind; the code that runs is always the project's current code, also for deletes.
 */
export type ProviderKind = "buildImageProvider" | "binariesProvider" | "runImageProvider";

// biome-ignore lint/suspicious/noExplicitAny: the dynamic provider contract passes untyped property bags
type Props = any;

export function providerShim(kind: ProviderKind): pulumi.dynamic.ResourceProvider {
  const impl = (projectDir: string): pulumi.dynamic.ResourceProvider => {
    const path = require("node:path") as typeof import("node:path");
    const bundle = providerBundle(projectDir);
    const providers = (bundle ? bundle.providers : require(path.join(projectDir, "src/pulumi/builderProviders.ts"))) as Record<
      ProviderKind,
      pulumi.dynamic.ResourceProvider
    >;
    return providers[kind];
  };
  return {
    check: (olds: Props, news: Props) => impl(news.projectDir).check?.(olds, news) ?? Promise.resolve({ inputs: news }),
    diff: (id: string, olds: Props, news: Props) => impl(news.projectDir).diff?.(id, olds, news) ?? Promise.resolve({}),
    create: (inputs: Props) => impl(inputs.projectDir).create(inputs),
    read: (id: string, props: Props) => impl(props.projectDir).read?.(id, props) ?? Promise.resolve({ id, props }),
    update: (id: string, olds: Props, news: Props) => impl(news.projectDir).update?.(id, olds, news) ?? Promise.resolve({ outs: news }),
    delete: (id: string, props: Props) => impl(props.projectDir).delete?.(id, props) ?? Promise.resolve(),
  };
}

/**
 * The exports of dist/provider.js while it is newer than src/ (bin/bundled.js), else null and tsx is
 * registered for the TypeScript sources. Shared by the shims and builder() (providerRuntime.ts); defined here, as a
 * local function, so serializing a shim takes this function alone and not a module object.
 */
export function providerBundle(projectDir: string): Record<string, unknown> | null {
  const path = require("node:path") as typeof import("node:path");
  const { freshBundle } = require(path.join(projectDir, "bin/bundled.js")) as { freshBundle(n: string, root: string): string | null };
  const bundle = freshBundle("provider", projectDir);
  if (bundle) return require(bundle) as Record<string, unknown>;
  require(require.resolve("tsx/cjs", { paths: [projectDir] }));
  return null;
}
