import * as pulumi from "./pulumiSdk";
import { PROVIDER_VERSION, type BinariesInputs, type BuildImageInputs, type RunImageInputs } from "../provider/types";

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** The build image: the spec's build steps, run from the step cache where possible (provider plugin: src/provider/). */
export class BuildImage extends pulumi.CustomResource {
  declare readonly buildKey: pulumi.Output<string>;
  declare readonly baseImageId: pulumi.Output<string>;
  constructor(name: string, args: Inputs<BuildImageInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      "cybernode-images:index:BuildImage",
      name,
      { ...args, buildKey: undefined, buildTag: undefined, baseImageId: undefined, stepsRun: undefined, buildEnvHash: undefined },
      opts,
    );
  }
}

/** The binaries extracted into images/<group>/<name>/bin/, with their digests and the version. */
export class Binaries extends pulumi.CustomResource {
  declare readonly digest: pulumi.Output<string>;
  declare readonly version: pulumi.Output<string>;
  declare readonly files: pulumi.Output<{ path: string; size: number; sha256: string }[]>;
  constructor(name: string, args: Inputs<BinariesInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      "cybernode-images:index:Binaries",
      name,
      { ...args, digest: undefined, version: undefined, files: undefined, buildEnvHash: undefined },
      opts,
    );
  }
}

/** The run image, loaded on the build host and, when different, on the target host. */
export class RunImage extends pulumi.CustomResource {
  declare readonly imageId: pulumi.Output<string>;
  declare readonly version: pulumi.Output<string>;
  declare readonly tags: pulumi.Output<string[]>;
  declare readonly pullRef: pulumi.Output<string>;
  declare readonly configDigest: pulumi.Output<string>;
  constructor(name: string, args: Inputs<RunImageInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      "cybernode-images:index:RunImage",
      name,
      {
        ...args,
        imageId: undefined,
        version: undefined,
        tags: undefined,
        shippedBytes: undefined,
        pullRef: undefined,
        configDigest: undefined,
        present: undefined,
        buildEnvHash: undefined,
      },
      opts,
    );
  }
}

export interface ImageArgs {
  image: string;
  projectDir: string;
  imagesRoot: string;
  baseImages: Record<string, string>;
  /** Values for the spec's passEnv variables from the stack config (may be a secret). */
  buildEnv: pulumi.Input<Record<string, string>>;
  buildHost: string;
  targetHost: string;
  buildHash: string;
  /** What extraction takes from the build image (plan/steps.ts extractionHash). */
  extraction: string;
  runHash: string;
  /** Promotion: the config digest of the image the source stack ran (an Output from its StackReference). */
  promoted?: { imageId: pulumi.Input<string>; from: string };
  /** Push to this registry; hosts then pull by digest. */
  registry?: string;
}

/**
 * One image spec as Pulumi sees it: build image → binaries → run image, children of one component.
 * Each step only changes when its own inputs do, and equal binaries give an equal run image ID, so a
 * rebuild that produces the same binaries does not touch the containers.
 */
export class Image extends pulumi.ComponentResource {
  declare readonly imageId: pulumi.Output<string>;
  declare readonly version: pulumi.Output<string>;
  declare readonly artifacts: pulumi.Output<{ path: string; size: number; sha256: string }[]>;
  /** `<registry>/<repo>@sha256:…` when a registry is used, else "". */
  declare readonly pullRef: pulumi.Output<string>;
  /** sha256 of the run image's config: equal to imageId on the classic store; what promotions compare. */
  declare readonly configDigest: pulumi.Output<string>;

  constructor(name: string, args: ImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cybernode:index:Image", name, {}, opts);
    const common = {
      image: args.image,
      projectDir: args.projectDir,
      imagesRoot: args.imagesRoot,
      baseImages: args.baseImages,
      buildEnv: args.buildEnv,
      buildHost: args.buildHost,
      providerVersion: PROVIDER_VERSION,
    };
    const build = new BuildImage(`${name}-build`, { ...common, buildHash: args.buildHash }, { parent: this });
    const bin = new Binaries(`${name}-bin`, { ...common, buildKey: build.buildKey, extraction: args.extraction }, { parent: this });
    const run = new RunImage(
      `${name}-run`,
      {
        ...common,
        runHash: args.runHash,
        binariesDigest: bin.digest,
        targetHost: args.targetHost,
        promotedImageId: args.promoted?.imageId ?? "",
        promotedFrom: args.promoted?.from ?? "",
        registry: args.registry ?? "",
      },
      { parent: this },
    );
    this.imageId = run.imageId;
    this.version = bin.version;
    this.artifacts = bin.files;
    this.pullRef = run.pullRef;
    this.configDigest = run.configDigest;
    this.registerOutputs({
      imageId: this.imageId,
      configDigest: this.configDigest,
      version: this.version,
      artifacts: this.artifacts,
      pullRef: this.pullRef,
    });
  }
}
