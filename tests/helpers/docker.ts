import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daemonInfo, docker } from "../../src/docker/cli";
import { parseBaseImageMap } from "../../src/builder/baseImages";
import type { LoadedSpec } from "../../src/imageSpec/load";
import { validateSpec } from "../../src/imageSpec/validate";
import type { ImageSpec } from "../../src/imageSpec/types";
import fixture from "../fixtures/images/fullnode/fixnode";
import { backgroundCleanups } from "../../src/docker/temporaries";
import { engineEvents } from "./checkout";

/** Integration tests are skipped only when this says so explicitly; otherwise no Docker is a failure. */
export const SKIP_DOCKER = process.env.CYBERNODE_SKIP_DOCKER === "1";

/** The local stand-ins made by scripts/make-test-bases.sh. */
export const TEST_BASE_IMAGES =
  "golang:1.26-bookworm=cybernode-test/golang:1.26-bookworm,debian:bookworm=cybernode-test/debian:bookworm,busybox:stable=cybernode-test/busybox:local";
export const testBaseMap = () => parseBaseImageMap(TEST_BASE_IMAGES);

/** Fails with what to do when Docker or the test base images are missing. */
export async function requireDocker(): Promise<void> {
  try {
    await daemonInfo();
  } catch (e) {
    throw new Error(
      `integration tests need a Docker engine: ${(e as Error).message}\nOr set CYBERNODE_SKIP_DOCKER=1 to skip them (they are then counted as skipped).`,
    );
  }
  for (const pair of TEST_BASE_IMAGES.split(",")) {
    const local = pair.split("=")[1];
    try {
      await docker(["image", "inspect", "--format", "{{.Id}}", local]);
    } catch {
      throw new Error(`test base image ${local} is missing: run bash scripts/make-test-bases.sh`);
    }
  }
}

/** The fixture spec under another name, with a change applied, and a private copy of its inputs folder. */
export function fixtureSpec(name: string, change: (s: ImageSpec) => void = () => {}): LoadedSpec {
  const raw = structuredClone(fixture);
  change(raw);
  const dir = mkdtempSync(join(tmpdir(), "cybernode-it-"));
  cpSync(join(__dirname, "../fixtures/images/fullnode/fixnode"), dir, { recursive: true, filter: (src) => !src.includes("/bin") });
  return { spec: validateSpec(name, raw), file: "(test)", dir };
}

/**
 * Number of container events of one kind (start, create, pause) between two times (seconds since epoch),
 * counting the builder's containers (all carry the cybernode.temp label), not other work on the engine.
 */
export async function containerEvents(event: string, since: number, until: number): Promise<number> {
  return engineEvents(since, until, ["cybernode.temp=1"]).filter((e) => e.action === event).length;
}

/** Containers left by the builder (labelled temporary). */
export async function leftoverTemporaries(): Promise<string[]> {
  // A build returns while its container exits and is removed (docker run --rm): wait for that first.
  await backgroundCleanups();
  return (await docker(["ps", "-a", "-q", "--filter", "label=cybernode.temp=1"])).split("\n").filter(Boolean);
}

/** Removes every tag of the step and run repositories of a test image name. */
export async function removeTestImages(name: string): Promise<void> {
  const repo = name.replace("/", "-");
  const tags = (
    await docker([
      "image",
      "ls",
      "--format",
      "{{.Repository}}:{{.Tag}}",
      "--filter",
      `reference=cybernode-step/${repo}`,
      "--filter",
      `reference=cybernode/${repo}`,
    ])
  )
    .split("\n")
    .filter(Boolean);
  if (tags.length) await docker(["rmi", "-f", ...tags]).catch(() => undefined);
}

export const now = () => Date.now() / 1000;
