// The parts of @pulumi/pulumi the program uses, each from its own module of the SDK. `import "@pulumi/pulumi"`
// runs the SDK's index, which loads the Automation API and the closure serializer (with TypeScript's
// compiler): about 0.3 s of every `pulumi preview` on a 2-core machine, for code the program never calls.
// The resource, output and config modules are the same instances the language host already loaded, so
// nothing changes but what is read at start-up. A stack with containers or a Kubernetes cluster loads the
// Docker or Kubernetes SDK, which loads the whole index anyway; an images-only stack never does.
// tests/unit/imports.test.ts keeps the eager program from importing "@pulumi/pulumi" (or a provider SDK).
export {
  ComponentResource,
  type ComponentResourceOptions,
  CustomResource,
  type CustomResourceOptions,
  Resource,
} from "@pulumi/pulumi/resource";
export { all, type Input, interpolate, Output, secret } from "@pulumi/pulumi/output";
export { Config } from "@pulumi/pulumi/config";
export { RunError } from "@pulumi/pulumi/errors";
export { getOrganization, getProject, getStack } from "@pulumi/pulumi/metadata";
export { StackReference } from "@pulumi/pulumi/stackReference";
import { invoke } from "@pulumi/pulumi/runtime/invoke";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";

// isConfigSecret is exported by the runtime but not typed.
const isConfigSecret: (key: string) => boolean =
  (runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret ?? (() => false);

/** What the program calls of `pulumi.runtime`, without `runtime/index` (it loads the closure serializer). */
export const runtime = { invoke, allConfig: runtimeConfig.allConfig, isConfigSecret };
