import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** What a stack exports per image (index.ts `images` output). */
export type ExportedImages = Record<string, { imageId?: string; version?: string; artifacts?: { path: string; sha256: string }[] }>;

export interface PromotionRow {
  image: string;
  action: "unchanged" | "update" | "add" | "remove";
  fromId?: string;
  toId?: string;
  fromVersion?: string;
  toVersion?: string;
}

/** What deploying the source's images on the target would change, image by image. Pure. */
export function promotionPlan(source: ExportedImages, target: ExportedImages): PromotionRow[] {
  const names = [...new Set([...Object.keys(source), ...Object.keys(target)])].sort();
  return names.map((image) => {
    const s = source[image];
    const t = target[image];
    if (!t) return { image, action: "add", toId: s.imageId, toVersion: s.version };
    if (!s) return { image, action: "remove", fromId: t.imageId, fromVersion: t.version };
    return {
      image,
      action: s.imageId === t.imageId ? "unchanged" : "update",
      fromId: t.imageId,
      toId: s.imageId,
      fromVersion: t.version,
      toVersion: s.version,
    };
  });
}

/** The file backend folder: PULUMI_BACKEND_URL when it is file://, else Pulumi.yaml's backend.url, else .pulumi-state. */
export function fileBackendDir(projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromUrl = (url: string) =>
    url.startsWith("file://") ? resolve(projectDir, url.slice("file://".length).replace(/^~(?=\/)/, env.HOME ?? "~")) : null;
  if (env.PULUMI_BACKEND_URL) {
    const d = fromUrl(env.PULUMI_BACKEND_URL);
    if (!d)
      throw new Error(
        `PULUMI_BACKEND_URL=${env.PULUMI_BACKEND_URL} is not a file:// backend; use: pulumi stack output --json --stack <name>`,
      );
    return d;
  }
  const yaml = existsSync(join(projectDir, "Pulumi.yaml")) ? readFileSync(join(projectDir, "Pulumi.yaml"), "utf8") : "";
  const m = /^backend:\s*\n\s+url:\s*(\S+)/m.exec(yaml);
  return (m && fromUrl(m[1])) ?? join(projectDir, ".pulumi-state");
}

/** Reads a stack's outputs from a file backend (`.pulumi/stacks/<project>/<stack>.json`); null when the stack has no state. */
export function readStackOutputs(backendDir: string, project: string, stack: string): Record<string, unknown> | null {
  const candidates = [
    join(backendDir, ".pulumi", "stacks", project, `${stack}.json`),
    join(backendDir, ".pulumi", "stacks", `${stack}.json`),
  ];
  const file = candidates.find((f) => existsSync(f));
  if (!file) return null;
  const doc = JSON.parse(readFileSync(file, "utf8")) as {
    checkpoint?: { latest?: { resources?: { type: string; outputs?: Record<string, unknown> }[] } };
  };
  const root = doc.checkpoint?.latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
  return root?.outputs ?? {};
}
