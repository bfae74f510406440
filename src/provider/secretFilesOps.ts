import { randomBytes } from "node:crypto";
import type { ResourceOps } from "./types";

/**
 * A node's secret files (the spec's `container.secretFiles`) on Kubernetes: the templates filled once
 * with random values, kept as a secret output (encrypted in state) and put in a Kubernetes Secret that
 * the Pod mounts into /cyberdata. On Docker hosts the files are made on the host and never reach state;
 * a cluster has no host folder to make them in, so here Pulumi holds them, as it holds any Secret.
 */

/** Fills each `${random}` with a fresh value from `random()`. Pure given `random`. */
export function fillRandom(template: string, random: () => string): string {
  return template.replace(/\$\{random\}/g, () => random());
}

export interface SecretFilesInputs {
  templates: [string, string][];
}

/** The SecretFiles resource with `random` as the source of each ${random} (the CSPRNG in the plugin; a counter in tests). */
export function secretFilesOps(random: () => string): ResourceOps {
  return {
    async diff(_id: string, olds: SecretFilesInputs, news: SecretFilesInputs) {
      const changed = JSON.stringify(olds.templates) !== JSON.stringify(news.templates);
      return { changes: changed, replaces: changed ? ["templates"] : [] };
    },
    async create(i: SecretFilesInputs) {
      const files = Object.fromEntries(i.templates.map(([name, t]) => [name, fillRandom(t, random)]));
      return { id: `secret-files-${randomBytes(4).toString("hex")}`, outs: { templates: i.templates, files } };
    },
  };
}

// 64 hex digits per ${random}, as DataDir makes them on Docker hosts.
export const secretFilesProvider = secretFilesOps(() => randomBytes(32).toString("hex"));
