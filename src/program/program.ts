import * as pulumi from "./pulumiSdk";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setImmediate as eventLoopTurn } from "node:timers/promises";
import { baseImageMapFromEnv, mappingFor } from "../builder/baseImages";
import { digestInputs } from "../builder/inputs";
import { sha256, stableJson } from "../common/hash";
import { extractionHash, stepsPart } from "../builder/stepKeys";
import { type Catalogue, imagesDirsFromConfig, loadCatalogue } from "../stack/catalogue";
import type { ResolvedSpec } from "../imageSpec/validate";
import { passwdUid } from "../stack/passwd";
import { declaresPluginWork, validateStackConfig, type StackPlan } from "../stack/config";
import { Image } from "./imageResource";
import { misspelledNamespaces, projectKey } from "../stack/configKeys";
import { InputError } from "../imageSpec/errors";
import { PROVIDER_VERSION_TOKEN } from "../provider/types";
import { CHECK_HOST_TOKEN, type CheckHostResult, hostCheckRequest } from "../stack/hostProblems";
import type { EngineKind } from "../docker/cli";

const DEFAULT_HOST = "unix:///var/run/docker.sock";

/**
 * Reads every `cybernode:*` key of the stack and which of them are secrets; a key in a misspelled namespace
 * (configKeys.ts) fails naming the stack file.
 */
export function readStackConfig(stackFile: string): { raw: Record<string, unknown>; secretKeys: Set<string> } {
  const all = pulumi.runtime.allConfig();
  const typos = misspelledNamespaces(Object.keys(all));
  if (typos.length) throw new InputError(`stack file ${stackFile}`, typos);
  const isSecret = pulumi.runtime.isConfigSecret;
  const raw: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [k, v] of Object.entries(all)) {
    const key = projectKey(k);
    if (key === null) continue;
    raw[key] = v;
    if (isSecret(k)) secretKeys.add(key);
  }
  return { raw, secretKeys };
}

export interface ProgramOptions {
  projectDir?: string;
}

/**
 * The stack: one image component per image in use, one container per enabled node. Returns the stack
 * outputs. A bad stack file or spec stops the program with its message alone (a RunError), not with the
 * stack trace and source text Pulumi prints for other exceptions.
 */
export async function deployStack(o: ProgramOptions = {}) {
  try {
    return await declareStack(o);
  } catch (e) {
    if (e instanceof InputError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

async function declareStack(o: ProgramOptions) {
  const projectDir = resolve(o.projectDir ?? process.cwd());
  const stack = pulumi.getStack();
  const stackFile = `stacks/Pulumi.${stack}.yaml`;
  const { raw, secretKeys } = readStackConfig(stackFile);
  // The engine starts the provider plugin (Node and its bundle, ~0.1 s) on the first call to it. Calling it
  // now overlaps that start with the spec loading below. Its answer is not needed: a plugin that cannot
  // start fails the first resource too, naming it. The call leaves only when the event loop turns, and the
  // spec loading is synchronous: hence one turn before it.
  if (declaresPluginWork(raw)) {
    pulumi.runtime.invoke(PROVIDER_VERSION_TOKEN, {}).catch(() => {});
    await eventLoopTurn();
  }
  const catalogue = loadCatalogue(projectDir, imagesDirsFromConfig(raw.imagesDirs, stackFile), stackFile);
  const specs = new Map([...catalogue].map(([name, c]) => [name, c.spec]));
  const cyberUid = existsSync("/etc/passwd") ? passwdUid(readFileSync("/etc/passwd", "utf8"), "cyber") : null;
  const plan = validateStackConfig(raw, { stack, stackFile, specs, cyberUid, secretKeys });

  // Before anything is declared: the host's engine, and what up would fail on there (a taken port, a data
  // root that cannot be written), so that nothing changes when it would.
  const kube = plan.kubernetes;
  const onDocker = plan.nodes.length > 0 && !kube;
  const hostKind = onDocker ? checkedHost(plan, stackFile) : Promise.resolve<EngineKind>("docker");
  hostKind.catch(() => {}); // awaited below; a failure must not count as unhandled meanwhile
  // A stack without nodes (a build host publishing images) declares no Docker provider and no container.
  // A Kubernetes stack runs each node as a StatefulSet (src/program/kubernetes), a Docker host as containers
  // (dockerNodes.ts): each loaded only for such stacks, since each loads its provider's SDK. The Docker SDK
  // loads synchronously (~0.3 s): once the host check has left, so that the plugin answers it meanwhile.
  let dockerNodes: typeof import("./dockerNodes") | undefined;
  if (onDocker) {
    await eventLoopTurn();
    dockerNodes = require("./dockerNodes") as typeof import("./dockerNodes");
  }
  const engine = await hostKind;
  const images = declareImages(plan, catalogue, projectDir, secretKeys);
  const containers: { name: pulumi.Output<string> }[] = !plan.nodes.length
    ? []
    : kube
      ? (require("./kubernetes/deploy") as typeof import("./kubernetes/deploy")).nodeStatefulSets(
          { ...plan, kubernetes: kube },
          images,
          specs,
        )
      : (dockerNodes as typeof import("./dockerNodes")).nodeContainers(plan, images, engine);
  return {
    host: kube ? `kubernetes:${kube.context || kube.kubeconfig || "default"}/${kube.namespace}` : plan.host,
    nodes: Object.fromEntries(
      plan.nodes.map((n, i) => [
        n.name,
        {
          container: containers[i].name,
          image: n.image,
          imageId: (images.get(n.image) as Image).imageId,
          version: (images.get(n.image) as Image).version,
        },
      ]),
    ),
    images: Object.fromEntries(
      [...images].map(([name, img]) => [
        name,
        { imageId: img.imageId, configDigest: img.configDigest, version: img.version, artifacts: img.artifacts, pullRef: img.pullRef },
      ]),
    ),
  };
}

/** One image component per image the stack builds, with the inputs its three resources diff on. */
function declareImages(plan: StackPlan, catalogue: Catalogue, projectDir: string, secretKeys: Set<string>): Map<string, Image> {
  const local = plan.host === DEFAULT_HOST;
  // buildOn local: build with this machine's Docker and load the run image onto the host if it is remote.
  const buildHost = plan.buildOn === "host" && !local ? plan.host : "";
  const promoted = plan.promoteFrom ? promotedImages(plan.promoteFrom, plan.stack) : undefined;
  // The machine's and the project's base-image mapping (as the CLI reads them), the stack's key on top.
  const bases = { ...Object.fromEntries(baseImageMapFromEnv(process.env, { projectDir })), ...plan.baseImages };
  const images = new Map<string, Image>();
  for (const name of plan.images) {
    const { spec, root } = catalogue.get(name) as { spec: ResolvedSpec; root: string };
    // Only the variables this spec passes through; a secret stack value stays a secret in state.
    const env = Object.fromEntries(Object.entries(plan.buildEnv).filter(([k]) => spec.build.passEnv.includes(k)));
    const buildEnv = secretKeys.has("buildEnv") ? pulumi.secret(env) : env;
    images.set(
      name,
      new Image(name.replace("/", "-"), {
        image: name,
        projectDir,
        imagesRoot: root,
        baseImages: mappingFor([spec.build.from, spec.run.base], bases),
        buildEnv,
        buildHost,
        // A cluster without a registry gets its images imported into the node's containerd.
        targetHost: plan.kubernetes?.containerd
          ? `containerd://${plan.kubernetes.containerd.replace(/^unix:\/\//, "")}`
          : local
            ? ""
            : plan.host,
        buildHash: sha256(stableJson({ build: stepsPart(spec), inputs: digestInputs(join(root, name)) })),
        extraction: extractionHash(spec),
        runHash: sha256(stableJson({ name: spec.name, run: spec.run })),
        promoted: promoted ? { imageId: promoted(name), from: plan.promoteFrom } : undefined,
        registry: plan.registry || undefined,
      }),
    );
  }
  return images;
}

/** Asks the provider plugin about the stack's host (hostCheck.ts); its problems stop the program, naming their keys. */
async function checkedHost(plan: StackPlan, stackFile: string): Promise<EngineKind> {
  let r: CheckHostResult;
  try {
    r = (await pulumi.runtime.invoke(CHECK_HOST_TOKEN, hostCheckRequest(plan))) as CheckHostResult;
  } catch (e) {
    throw new InputError(`stack file ${stackFile}`, [`cybernode:host: ${(e as Error).message.replace(/^.*?Error: /s, "")}`]);
  }
  if (r.problems.length)
    throw new pulumi.RunError(
      `${new InputError(`stack file ${stackFile}`, r.problems).message}\nNothing was changed: pulumi up stops here too.`,
    );
  return r.kind;
}

/** Full name of a stack of this project for a StackReference (DIY backends use organization/<project>/<stack>). */
export function stackRefName(stack: string): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`;
}

/**
 * The run image IDs the source stack exports (its `images` output). An image the source does not
 * export stops the deployment before anything changes.
 */
function promotedImages(from: string, stack: string): (image: string) => pulumi.Output<string> {
  const ref = new pulumi.StackReference(`promote-from-${from}`, { name: stackRefName(from) });
  const exported = ref.getOutput("images") as pulumi.Output<Record<string, { imageId?: string; configDigest?: string }> | undefined>;
  return (image) => exported.apply((imgs) => promotedConfigDigest(imgs, image, from, stack));
}

/**
 * What a promotion compares: the config digest of the run image the source stack ran, or an error saying
 * what is missing. Pure. On the classic image store the image ID is the config digest; with the
 * containerd store Docker's ID is the manifest digest (moby#48401), so stacks export both and the
 * config digest, which both sides compute the same way, is compared. Stacks deployed before the
 * configDigest output existed export only imageId (the classic store's config digest).
 */
export function promotedConfigDigest(
  imgs: Record<string, { imageId?: string; configDigest?: string }> | undefined,
  image: string,
  from: string,
  stack: string,
): string {
  const id = imgs?.[image]?.configDigest || imgs?.[image]?.imageId;
  if (typeof id !== "string" || !/^sha256:[0-9a-f]{64}$/.test(id)) {
    throw new Error(
      `stack ${stack} promotes from ${from}, but ${from} ${imgs ? `exports no image ${image}` : "has no images output"}: ` +
        `deploy it there first (pulumi up --stack ${from}). Nothing was changed on ${stack}.`,
    );
  }
  return id;
}
