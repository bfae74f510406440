import { tarLib } from "../archive/tarLib";
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { docker, dockerStream, daemonInfo } from "../docker/cli";
import { imageIdOf } from "../docker/imageId";
import { APP_DIR, planRunImage, type BaseImage, type ImageConfig, type RunImageFile, type RunImagePlan } from "../archive/imageArchive";
import { sha256 } from "../common/hash";
import { InputError } from "../imageSpec/errors";
import type { ResolvedSpec } from "../imageSpec/validate";
import { resolveBaseImage, type BaseImageMap } from "./baseImages";
import { LIBS_DIR, type BinManifest } from "./extract";

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org convention), else 0. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return 0;
  if (!/^\d+$/.test(v)) throw new InputError("SOURCE_DATE_EPOCH", [`'${v}' must be whole seconds since 1970`]);
  return Number(v);
}

/** The run image's files from a bin/ folder: artifacts under /cyberapp, bundled libraries at their own paths. */
export function runImageFiles(binDir: string, manifest: BinManifest): RunImageFile[] {
  return manifest.files.map((f) => {
    const p = join(binDir, f.path);
    if (lstatSync(p).isSymbolicLink()) throw new Error(`bin/${f.path} is a symbolic link; run images take regular files only`);
    const inImage = f.path.startsWith(`${LIBS_DIR}/`) ? f.path.slice(LIBS_DIR.length + 1) : `${APP_DIR}/${f.path}`;
    return { path: inImage, mode: f.mode, data: readFileSync(p) };
  });
}

/** Reads an image through `docker save` (docker-archive layout) into memory: a run base, or what `inspect` lists. */
export async function readSavedImage(ref: string): Promise<BaseImage> {
  const files = new Map<string, Buffer>();
  const run = await dockerStream(["save", ref], {
    onStdout: async (s) => {
      const parser = new (tarLib().Parser)({
        onReadEntry: (entry) => {
          const chunks: Buffer[] = [];
          entry.on("data", (c: Buffer) => chunks.push(c));
          entry.on("end", () => files.set(entry.path, Buffer.concat(chunks)));
        },
      });
      await new Promise<void>((resolve, reject) => {
        s.pipe(parser);
        parser.on("end", resolve);
        parser.on("error", reject);
        s.on("error", reject);
      });
    },
  });
  if (run.exitCode !== 0) throw new Error(`docker save ${ref}: ${run.stderr.trim()}`);
  const manifest = JSON.parse(files.get("manifest.json")?.toString() ?? "[]") as { Config: string; Layers: string[] }[];
  if (!manifest[0]) throw new Error(`docker save ${ref}: no manifest.json in the archive`);
  const config = JSON.parse(files.get(manifest[0].Config)?.toString() ?? "{}") as ImageConfig;
  const layers = manifest[0].Layers.map((path, i) => {
    const data = files.get(path);
    if (!data) throw new Error(`docker save ${ref}: layer ${path} missing from the archive`);
    const want = config.rootfs.diff_ids[i];
    if (`sha256:${sha256(data)}` === want) return data;
    const plain = gunzipSync(data); // containerd store may save compressed layers
    if (`sha256:${sha256(plain)}` !== want) throw new Error(`docker save ${ref}: layer ${i} does not match its diff ID`);
    return plain;
  });
  return { config, layers };
}

/** The rebuilt run image is not the one that was tested on the stack it is promoted from. */
export class PromotionMismatchError extends Error {
  constructor(image: string, from: string, promoted: string, rebuilt: string) {
    super(
      `image ${image}: refusing to deploy. The run image rebuilt here is ${rebuilt}, but stack ${from} ran ${promoted}. ` +
        `The binaries or run spec differ from what was tested (check bin/MANIFEST.json against ${from}'s artifact digests), ` +
        `so build and test the new image on ${from} first (pulumi up --stack ${from}). Nothing was loaded or changed.`,
    );
    this.name = "PromotionMismatchError";
  }
}

export interface RunImageResult {
  plan: RunImagePlan;
  imageId: string;
  tags: string[];
  /** False when the daemon already had this exact image ID. */
  loaded: boolean;
}

/**
 * The run image that bin/ gives, with its ID, without loading it: reads bin/ and, for a non-scratch
 * base, `docker save`s the base. What previews compare a promoted image ID against.
 */
export async function predictRunImage(o: {
  spec: ResolvedSpec;
  binDir: string;
  manifest: BinManifest;
  baseMap: BaseImageMap;
  /** Pull a missing run.base (builds); previews leave it (BaseImageMissing). */
  pull?: boolean;
  log?: (line: string) => void;
}): Promise<RunImagePlan> {
  const info = await daemonInfo();
  let base: BaseImage | undefined;
  if (o.spec.run.base !== "scratch") {
    const resolved = await resolveBaseImage(o.spec.name, "run.base", o.spec.run.base, o.baseMap, { pull: o.pull, log: o.log });
    base = await readSavedImage(resolved.local);
  }
  return planRunImage({
    spec: o.spec,
    version: o.manifest.version,
    files: runImageFiles(o.binDir, o.manifest),
    epochSeconds: sourceDateEpoch(),
    architecture: info.architecture,
    base,
  });
}

/** Plans the run image from bin/, then loads it with `docker load` unless the daemon already has that ID. */
export async function assembleRunImage(o: {
  spec: ResolvedSpec;
  binDir: string;
  manifest: BinManifest;
  baseMap: BaseImageMap;
  log: (line: string) => void;
  /** A promoted image ID this build must reproduce; checked before anything is loaded. */
  expect?: { imageId: string; from: string };
}): Promise<RunImageResult> {
  const info = await daemonInfo();
  const plan = await predictRunImage({ ...o, pull: true });
  if (o.expect && o.expect.imageId !== plan.imageId)
    throw new PromotionMismatchError(o.spec.name, o.expect.from, o.expect.imageId, plan.imageId);
  const exists = await imageIdOf(plan.imageId);
  let loaded = false;
  if (!exists) {
    const run = await dockerStream(["load", "--quiet"], { stdin: plan.archive });
    if (run.exitCode !== 0) throw new Error(`docker load of ${o.spec.name}: ${run.stderr.trim()}`);
    loaded = true;
  }
  const tag = plan.repoTags[0];
  const actual = (await imageIdOf(tag)) ?? "";
  if (actual !== plan.imageId) {
    // Tags may point at an older build; move them to this one (tags do not change the ID).
    for (const t of plan.repoTags) await docker(["tag", plan.imageId, t]);
  }
  const verified = (await imageIdOf(tag)) ?? `nothing tagged ${tag}`;
  if (verified !== plan.imageId && !info.containerdStore) {
    throw new Error(
      `image ${o.spec.name}: Docker reports ${verified} after loading but the planned ID is ${plan.imageId}; the archive was not loaded as written`,
    );
  }
  o.log(`[${o.spec.name} run image] ${loaded ? "loaded" : "already present"} ${plan.imageId} as ${plan.repoTags.join(", ")}`);
  return { plan, imageId: verified, tags: plan.repoTags, loaded };
}
