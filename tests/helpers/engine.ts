import {
  type ConfigMap,
  type EngineEvent,
  LocalWorkspace,
  type ProjectSettings,
  PulumiCommand,
  type PulumiFn,
  type Stack,
} from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { deployStack } from "../../src/program/program";
import { SKIP_DOCKER, TEST_BASE_IMAGES } from "./docker";

/**
 * The real Pulumi engine, driven through the Automation API with the project's own program
 * (deployStack) as the inline program: the engine, the state files, the secrets provider, the diffs
 * and our provider plugin are all real. Only @pulumi/docker resources cannot run here (their
 * plugin is not served), so these stacks have no nodes.
 */
export const PROJECT = join(__dirname, "../..");

/** Skipped (and counted as skipped) only when an env var says so; a missing CLI otherwise fails. */
export const SKIP_ENGINE = process.env.CYBERNODE_SKIP_ENGINE === "1" || SKIP_DOCKER;

/** The folder holding bin/pulumi: where `npx pulumi` looks first, else the `pulumi` on PATH. */
export function pulumiRoot(): string {
  const npmVersion = (JSON.parse(readFileSync(join(PROJECT, "node_modules/pulumi/package.json"), "utf8")) as { version: string }).version;
  const pulumiHome = process.env.PULUMI_HOME ?? join(homedir(), ".pulumi");
  const candidates = [join(pulumiHome, "versions", npmVersion)];
  try {
    candidates.push(dirname(dirname(execFileSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).trim())));
  } catch {
    // not on PATH
  }
  const root = candidates.find((r) => existsSync(join(r, "bin/pulumi")));
  if (!root) {
    throw new Error(
      "the real-engine tests need the Pulumi CLI and found none: run bash scripts/install-pulumi.sh (builds it from Go modules " +
        "when Pulumi's downloads are out of reach), or set CYBERNODE_SKIP_ENGINE=1 to skip them (they are then counted as skipped).",
    );
  }
  return root;
}

/** Where the project's provider plugin is (bin/pulumi-resource-cybernode-images), as Pulumi.yaml declares it. */
export const PLUGIN_DIR = join(PROJECT, "bin");

export interface Backend {
  /** file:// backend folder (state files live under .pulumi/). */
  dir: string;
  passphrase: string;
}

export function newBackend(passphrase = "engine-test-passphrase"): Backend {
  return { dir: mkdtempSync(join(tmpdir(), "cybernode-engine-")), passphrase };
}

/** Where the workspaces of a backend keep Pulumi.yaml and the stack files. */
function projectDir(backend: Backend): string {
  const dir = join(backend.dir, "project");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Base images of the tests, as the stack key cybernode:baseImages takes them. */
export const TEST_BASE_CONFIG = JSON.stringify(Object.fromEntries(TEST_BASE_IMAGES.split(",").map((p) => p.split("="))));

/**
 * Pulumi.yaml of the test workspaces: the file backend and, as the project's own Pulumi.yaml has it, the
 * provider plugin's folder (the Automation API's ProjectSettings type lacks `plugins`; the file takes it).
 */
function projectSettings(backend: Backend, extraPlugins: PluginEntry[] = []): ProjectSettings {
  const settings: ProjectSettings & { plugins: { providers: PluginEntry[] } } = {
    name: "cybernode",
    runtime: "nodejs",
    backend: { url: `file://${backend.dir}` },
    plugins: { providers: [{ name: "cybernode-images", path: PLUGIN_DIR }, ...extraPlugins] },
  };
  return settings;
}

/** A provider plugin entry of Pulumi.yaml: the package name and the folder holding pulumi-resource-<name>. */
export interface PluginEntry {
  name: string;
  path: string;
}

/**
 * A stack of this project on a file backend, running deployStack in this process under the real engine
 * (or `other.program`, with `other.plugins` declared beside the project's plugin: the bench's anchors).
 */
export async function engineStack(
  name: string,
  backend: Backend,
  config: ConfigMap = {},
  other: { program?: PulumiFn; plugins?: PluginEntry[] } = {},
): Promise<Stack> {
  const pulumiCommand = await PulumiCommand.get({ root: pulumiRoot(), skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: name, projectName: "cybernode", program: other.program ?? (async () => deployStack({ projectDir: PROJECT })) },
    {
      pulumiCommand,
      // One project folder per backend: stack config (Pulumi.<stack>.yaml) persists between workspaces.
      workDir: projectDir(backend),
      projectSettings: projectSettings(backend, other.plugins),
      envVars: {
        PULUMI_CONFIG_PASSPHRASE: backend.passphrase,
        PATH: `${dirname(pulumiCommand.command)}:${process.env.PATH ?? ""}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    },
  );
  if (Object.keys(config).length) await stack.setAllConfig(config);
  return stack;
}

/** The stack's state file as the file backend writes it. */
export function stateFile(backend: Backend, stack: string): string {
  return join(backend.dir, ".pulumi/stacks/cybernode", `${stack}.json`);
}

/** Resource steps of one engine run that are not "same", as "Type:op" (e.g. "RunImage:update"), sorted. */
export function collectSteps(): { onEvent: (e: EngineEvent) => void; steps: () => string[] } {
  const seen: string[] = [];
  return {
    onEvent: (e) => {
      const m = e.resourcePreEvent?.metadata;
      if (m && m.op !== "same" && m.op !== "read") seen.push(`${m.type.split(":").pop()}:${m.op}`);
    },
    steps: () => [...seen].sort(),
  };
}

const FIXTURE = join(PROJECT, "tests/fixtures/images/fullnode");

/**
 * A private images folder holding the fixture spec (as `fullnode/<name>`) and its inputs, so a test
 * can edit the spec between engine runs. `edit` rewrites the spec text; bin/ lands in this folder.
 */
export function imagesFolder(names: string[] = ["fixnode"]): {
  root: string;
  write: (name: string, edit?: (text: string) => string) => void;
} {
  const root = mkdtempSync(join(tmpdir(), "cybernode-images-"));
  const original = readFileSync(join(FIXTURE, "fixnode.ts"), "utf8").replace(
    "../../../../src/imageSpec/define",
    join(PROJECT, "src/imageSpec/define"),
  );
  const write = (name: string, edit: (text: string) => string = (t) => t) => {
    mkdirSync(join(root, "fullnode"), { recursive: true });
    writeFileSync(join(root, "fullnode", `${name}.ts`), edit(original.replace('name: "fixnode"', `name: "${name}"`)));
    if (!existsSync(join(root, "fullnode", name)))
      cpSync(join(FIXTURE, "fixnode"), join(root, "fullnode", name), { recursive: true, filter: (s) => !s.includes("/bin") });
  };
  for (const n of names) write(n);
  return { root, write };
}

/** Config of an images-only stack building `images` from `imagesRoot` with the test base images. */
export function imagesOnlyConfig(imagesRoot: string, images: string[], extra: ConfigMap = {}): ConfigMap {
  return {
    "cybernode:imagesDirs": { value: JSON.stringify([imagesRoot]) },
    "cybernode:images": { value: JSON.stringify(images) },
    "cybernode:baseImages": { value: TEST_BASE_CONFIG },
    ...extra,
  };
}

/** The run image ID a stack exported for an image (its `images` output). */
export const imageIdOf = (outputs: Record<string, { value: unknown }>, name: string): string =>
  (outputs.images.value as Record<string, { imageId: string }>)[name].imageId;
