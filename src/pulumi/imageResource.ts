import * as pulumi from "@pulumi/pulumi";

/**
 * The run image of one spec as a Pulumi resource. A dynamic provider: Pulumi serializes these
 * functions and runs them in a separate process, so they load the builder lazily from the project
 * folder (through the tsx loader) and capture nothing else.
 */

/** Bump when the provider's behaviour changes, so `pulumi preview` shows the change on every image. */
export const PROVIDER_VERSION = "1";

export interface RunImageInputs {
  /** Spec name, e.g. fullnode/btcd. */
  image: string;
  /** Absolute project folder (where src/ and node_modules/ are). */
  projectDir: string;
  /** Absolute images folder. */
  imagesRoot: string;
  /** Hash of the resolved spec and its inputs: what decides whether a rebuild is due. */
  contentHash: string;
  /** Base-image mapping from the stack config. */
  baseImages: Record<string, string>;
  /** Docker host to build on and load into (empty: the local default). */
  dockerHost: string;
  providerVersion: string;
}

export interface RunImageOutputs extends RunImageInputs {
  imageId: string;
  version: string;
  tags: string[];
  buildKey: string;
  artifacts: { path: string; size: number; sha256: string }[];
}

/** Fields whose change means the image must be built again. */
const TRIGGERS: (keyof RunImageInputs)[] = ["image", "contentHash", "baseImages", "dockerHost", "providerVersion", "imagesRoot"];

async function build(inputs: RunImageInputs): Promise<RunImageOutputs> {
  // Runs in the provider process: register the TypeScript loader, then load the builder by path.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const path = require("node:path") as typeof import("node:path");
  require(require.resolve("tsx/cjs", { paths: [inputs.projectDir] }));
  const { buildImage } = require(path.join(inputs.projectDir, "src/build/builder.ts")) as typeof import("../build/builder");
  const { loadSpec } = require(path.join(inputs.projectDir, "src/spec/load.ts")) as typeof import("../spec/load");
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (inputs.dockerHost) process.env.DOCKER_HOST = inputs.dockerHost;
  const loaded = loadSpec(inputs.imagesRoot, inputs.image);
  const lines: string[] = [];
  const r = await buildImage(loaded, { baseMap: new Map(Object.entries(inputs.baseImages)), log: (l) => lines.push(l) });
  return {
    ...inputs,
    imageId: r.imageId,
    version: r.version,
    tags: r.tags,
    buildKey: r.buildKey,
    artifacts: r.manifest.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
  };
}

export const runImageProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: RunImageInputs, news: RunImageInputs) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!/^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/.test(String(news.image))) failures.push({ property: "image", reason: `'${news.image}' is not group/name` });
    if (!String(news.projectDir).startsWith("/")) failures.push({ property: "projectDir", reason: "must be absolute" });
    return { inputs: news, failures };
  },
  async diff(_id: string, olds: RunImageOutputs, news: RunImageInputs) {
    const stable = (v: unknown) => JSON.stringify(v, Object.keys((v as object) ?? {}).sort());
    const changed = TRIGGERS.filter((k) => stable(olds[k]) !== stable(news[k]));
    return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false, stables: changed.length ? [] : ["imageId"] };
  },
  async create(inputs: RunImageInputs) {
    const outs = await build(inputs);
    return { id: `${inputs.image}@${outs.imageId}`, outs };
  },
  async update(_id: string, _olds: RunImageOutputs, news: RunImageInputs) {
    return { outs: await build(news) };
  },
  async delete() {
    // Images stay on the host: a container may still use them, and `cybernode clean` handles leftovers.
  },
};

export class RunImage extends pulumi.dynamic.Resource {
  declare readonly imageId: pulumi.Output<string>;
  declare readonly version: pulumi.Output<string>;
  declare readonly tags: pulumi.Output<string[]>;
  declare readonly artifacts: pulumi.Output<RunImageOutputs["artifacts"]>;

  constructor(name: string, args: { [K in keyof RunImageInputs]: pulumi.Input<RunImageInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
    super(runImageProvider, name, { ...args, imageId: undefined, version: undefined, tags: undefined, artifacts: undefined, buildKey: undefined }, opts, "cybernode", "RunImage");
  }
}

/** One image spec: its build and run image, grouped so `pulumi preview` shows them together. */
export class Image extends pulumi.ComponentResource {
  declare readonly imageId: pulumi.Output<string>;
  declare readonly version: pulumi.Output<string>;
  declare readonly artifacts: pulumi.Output<RunImageOutputs["artifacts"]>;

  constructor(name: string, args: Omit<RunImageInputs, "providerVersion">, opts?: pulumi.ComponentResourceOptions) {
    super("cybernode:index:Image", name, {}, opts);
    const run = new RunImage(`${name}-run`, { ...args, providerVersion: PROVIDER_VERSION }, { parent: this });
    this.imageId = run.imageId;
    this.version = run.version;
    this.artifacts = run.artifacts;
    this.registerOutputs({ imageId: this.imageId, version: this.version, artifacts: this.artifacts });
  }
}
