import { withEngine } from "../docker/engine";
import { removeTemporariesOnSignals } from "../docker/interrupts";
import { parseArgs, UsageError, type ParsedArgs } from "./args";

const USAGE = `cybernode - build fullnode images without Dockerfiles

Usage: npx cybernode <command> [options]

Commands:
  images                 list the image specs (images/<group>/<name>.ts)
  build <image>          build image -> extract binaries to bin/ -> load the run image
  inspect <image>        version, entrypoint, user, ports and files of a run image
  doctor                 check Docker access, the cyber user, the data root and SELinux
  clean [<image>...]     remove build-step images (all, or of these images; --stale: old keys only)
  promote <from> <to>    what deploying <from>'s tested images would change on stack <to>
  status [--stack S] [--json]   state, health, version, data size and chain height of a stack's nodes

Common options:
  --images DIR           folder of image specs (default ./images, or CYBERNODE_IMAGES)
  -h, --help             help for a command

Environment:
  DOCKER_HOST / DOCKER_CONTEXT   which Docker engine to use (as for the docker CLI)
  CYBERNODE_BASE_IMAGES          base-image mapping, e.g. golang:1.26-bookworm=local/golang:1.26
  SOURCE_DATE_EPOCH              fixed time for run image files and labels (default 0)

Exit codes: 0 ok, 1 failure, 2 usage error.
Example: npx cybernode build fullnode/btcd`;

type Command = (args: ParsedArgs) => Promise<number>;

/**
 * Each command's module is loaded only when that command runs: `status` needs neither the builder nor
 * tar, `build` needs no stack config, and `--help` needs nothing: loading every command up front would
 * make each CLI run pay for @pulumi/pulumi.
 */
const cmdImages: Command = (a) => (require("./build") as typeof import("./build")).cmdImages(a);
const cmdBuild: Command = (a) => (require("./build") as typeof import("./build")).cmdBuild(a);
const cmdInspect: Command = (a) => (require("./inspect") as typeof import("./inspect")).cmdInspect(a);
const cmdDoctor: Command = (a) => (require("./doctor") as typeof import("./doctor")).cmdDoctor(a);
const cmdPromote: Command = (a) => (require("./promote") as typeof import("./promote")).cmdPromote(a);
const cmdStatus: Command = (a) => (require("./status") as typeof import("./status")).cmdStatus(a);
const cmdClean: Command = (a) => (require("./clean") as typeof import("./clean")).cmdClean(a);

/** Errors we raise say what went wrong and what to do: printed without a stack trace. By name, so main loads none of their modules. */
const KNOWN_ERRORS = new Set([
  "InputError",
  "DockerError",
  "DockerUnreachableError",
  "StepFailedError",
  "UnsafeArchiveError",
  "PromotionMismatchError",
  "Interrupted",
]);
const COMMANDS: Record<string, { run: Command; help: string }> = {
  images: { run: cmdImages, help: "Usage: npx cybernode images [--images DIR]\nLists image specs with their description." },
  build: {
    run: cmdBuild,
    help:
      "Usage: npx cybernode build <group/name> [--images DIR] [--json]\n" +
      "Runs the uncached build steps, extracts the artifacts to images/<group/name>/bin/ and loads the run image.\n" +
      "Prints the image ID, version and artifact sizes (--json: as JSON on stdout).",
  },
  inspect: {
    run: cmdInspect,
    help: "Usage: npx cybernode inspect <group/name | image> [--images DIR]\nShows version label, entrypoint, user, ports, labels and the file listing (as docker export | tar -tv).",
  },
  doctor: {
    run: cmdDoctor,
    help: "Usage: npx cybernode doctor [--user cyber] [--data-root /home/cyber/cyberdata]\nChecks what running fullnodes needs on this host.",
  },
  promote: {
    run: cmdPromote,
    help:
      "Usage: npx cybernode promote <from-stack> <to-stack> [--state DIR]\n" +
      "Compares the images <from> exports (its last pulumi up) with what <to> runs, image by image.\n" +
      "Reads the file backend (--state, PULUMI_BACKEND_URL=file://..., or Pulumi.yaml's backend.url).",
  },
  status: {
    run: cmdStatus,
    help:
      "Usage: npx cybernode status [--stack S] [--json] [--stacks-dir DIR]\n" +
      "One line per node of the stack's host (stacks/Pulumi.<S>.yaml, default local): container state, health, restarts,\n" +
      "uptime, version label, run image ID, data folder size and the chain height from the node's status command.\n" +
      "Needs only the stack file and the Docker engine (no Pulumi). Exit 1 when the host cannot be reached or a node is\n" +
      "missing, not running, unhealthy or its status command fails. --json: an array of objects on stdout.\n" +
      "Example: npx cybernode status --stack node1",
  },
  clean: {
    run: cmdClean,
    help:
      "Usage: npx cybernode clean [<group/name>...] [--stale] [--caches]\n" +
      "Without names: removes every build-step image (cybernode-step/*) and stopped temporary container on the Docker host,\n" +
      "whichever checkout made them: the next build of each image runs all its steps again.\n" +
      "With names (e.g. fullnode/btcd): only those images' build-step images.\n" +
      "--stale: only the step images whose keys the current specs no longer use (old bases, edited steps); the\n" +
      "cache of the current build stays. Images in use by a running container (another build) are kept and listed.\n" +
      "--caches also removes the named build cache volumes (cybernode-cache-*). Run images are never removed.\n" +
      "Example: npx cybernode clean fullnode/btcd --stale",
  },
};

export async function main(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const name = args.positional[0];
  if (!name || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return args.flags.has("help") || name === "help" ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  if (args.flags.has("help")) {
    process.stdout.write(`${cmd.help}\n`);
    return 0;
  }
  try {
    // The CLI is an entry point: it owns what SIGINT/SIGTERM do to the work it starts.
    const engine = removeTemporariesOnSignals();
    return await withEngine(engine, () => cmd.run({ ...args, positional: args.positional.slice(1) }));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${cmd.help}\n`);
      return 2;
    }
    // Errors we raise say what went wrong and what to do: no stack trace (CYBERNODE_DEBUG=1 shows it).
    const known = e instanceof Error && KNOWN_ERRORS.has(e.name);
    const debug = process.env.CYBERNODE_DEBUG === "1";
    process.stderr.write(`cybernode ${name}: ${known && !debug ? (e as Error).message : ((e as Error).stack ?? String(e))}\n`);
    return 1;
  }
}
