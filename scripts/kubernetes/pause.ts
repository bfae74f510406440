// The pause (sandbox) image, made without a registry: a docker-archive (manifest.json + config + one
// layer holding /pause) written by hand and imported into the separate containerd's k8s.io namespace;
// Docker is not involved. Entries sorted, mtime 0, owner 0: the same binary gives the same image.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctrArgs } from "./containerd";
import type { Cluster } from "./settings";
import { $ } from "./shell";

/** GNU tar flags for a reproducible archive. */
export const TAR_FIXED = ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner"];

export const PAUSE_CREATED_BY = "cybernode scripts/kubernetes/start.ts";

/** The image config; its sha256 is the image ID. */
export function pauseConfig(diffId: string): string {
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Entrypoint: ["/pause"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
    history: [{ created_by: PAUSE_CREATED_BY }],
  });
}

/** manifest.json of the docker-archive: the config file, the tag, the layer. */
export function pauseManifest(configId: string, tag: string, diffId: string): string {
  return JSON.stringify([{ Config: `${configId}.json`, RepoTags: [tag], Layers: [`${diffId}/layer.tar`] }]);
}

const sha256 = (bytes: Buffer | string): string => createHash("sha256").update(bytes).digest("hex");

export function pauseArchivePath(c: Cluster): string {
  return join(c.workdir, "pause", "pause.tar");
}

/** Writes WORKDIR/pause/pause.tar from the pause binary. */
export async function makePauseArchive(c: Cluster): Promise<void> {
  const dir = join(c.workdir, "pause");
  const rootfs = join(dir, "rootfs");
  const image = join(dir, "image");
  mkdirSync(rootfs);
  copyFileSync(join(c.bin, "pause"), join(rootfs, "pause"));
  const layer = join(dir, "layer.tar");
  await $`tar ${TAR_FIXED} -C ${rootfs} -cf ${layer} pause`;
  const diffId = sha256(readFileSync(layer));
  const config = pauseConfig(diffId);
  const configId = sha256(config);
  mkdirSync(join(image, diffId), { recursive: true });
  writeFileSync(join(image, `${configId}.json`), config);
  renameSync(layer, join(image, diffId, "layer.tar"));
  writeFileSync(join(image, "manifest.json"), pauseManifest(configId, c.pauseImage, diffId));
  await $`tar ${TAR_FIXED} -C ${image} -cf ${pauseArchivePath(c)} .`;
  rmSync(rootfs, { recursive: true });
  rmSync(image, { recursive: true });
}

export async function importPause(c: Cluster): Promise<void> {
  await $`${ctrArgs(c)} images import ${pauseArchivePath(c)}`;
}
