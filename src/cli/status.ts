import { execFile } from "node:child_process";
import { STACK_NAME } from "../stack/configKeys";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { DockerError, onDockerHost, runDocker } from "../docker/cli";
import { imagesDirsFromConfig, loadCatalogue } from "../stack/catalogue";
import { validateStackConfig, type StackPlan } from "../stack/config";
import { dataDirCommand } from "../common/dataDir";
import { InputError } from "../imageSpec/errors";
import { allowOnly, UsageError, type ParsedArgs } from "./args";
import { passwdUid } from "./doctor";
import {
  containersByName,
  type DataSize,
  duScript,
  formatReport,
  type HeightResult,
  heightResult,
  nodeStatus,
  parseDu,
  statusExitCode,
  unreachableReason,
} from "./statusReport";
import { stackFileConfig, withUnsetSecrets } from "./statusStackFile";

const EXEC_TIMEOUT_S = 15;
const DU_TIMEOUT_S = 120;

export interface StatusOptions {
  stack: string;
  stacksDir: string;
  json: boolean;
}

/** --stack S (default local), --stacks-dir DIR (default ./stacks), --json. */
export function statusOptions(args: ParsedArgs, cwd: string): StatusOptions {
  allowOnly(args, ["json", "stack", "stacks-dir"], ["stack", "stacks-dir"]);
  const values = args.options;
  if (args.positional.length)
    throw new UsageError(`status takes no arguments (got ${args.positional.join(" ")}); choose the stack with --stack NAME`);
  const stack = values.get("stack") ?? "local";
  if (!STACK_NAME.test(stack)) throw new UsageError(`'${stack}' is not a stack name`);
  return { stack, stacksDir: resolve(cwd, values.get("stacks-dir") ?? "stacks"), json: args.flags.has("json") };
}

/** Reads and validates stacks/Pulumi.<stack>.yaml as `pulumi up` would, without Pulumi. */
export function loadStackPlan(projectDir: string, o: StatusOptions): StackPlan {
  const file = join(o.stacksDir, `Pulumi.${o.stack}.yaml`);
  const rel = relative(projectDir, file);
  const stackFile = rel.startsWith("..") ? file : rel;
  if (!existsSync(file)) {
    const stacks = existsSync(o.stacksDir)
      ? readdirSync(o.stacksDir)
          .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
          .filter((s): s is string => s !== undefined)
      : [];
    throw new InputError(`stack ${o.stack}`, [
      stacks.length
        ? `no stack file ${stackFile}; stacks in ${o.stacksDir}: ${stacks.sort().join(", ")} (choose one with --stack NAME)`
        : `no stack file ${stackFile} and no stack files in ${o.stacksDir}: run in the project folder or pass --stacks-dir DIR`,
    ]);
  }
  const { raw, secretKeys } = stackFileConfig(readFileSync(file, "utf8"), stackFile);
  const catalogue = loadCatalogue(projectDir, imagesDirsFromConfig(raw.imagesDirs, stackFile), stackFile);
  const specs = new Map([...catalogue].map(([name, c]) => [name, c.spec]));
  withUnsetSecrets(raw, secretKeys, [String(raw.nodes ?? ""), ...[...specs.values()].flatMap((s) => s.container.args)]);
  // The uid only matters for creating containers; status reads what runs, so any uid validates.
  const cyberUid = (existsSync("/etc/passwd") ? passwdUid(readFileSync("/etc/passwd", "utf8"), "cyber") : null) ?? 65534;
  return validateStackConfig(raw, { stack: o.stack, stackFile, specs, cyberUid, secretKeys });
}

/** Sizes of every node's data folder, with one script on the host (sh locally, ssh for ssh:// hosts). */
function dataSizes(plan: StackPlan): Promise<Map<string, DataSize>> {
  const names = plan.nodes.map((n) => n.name);
  const how = dataDirCommand(plan.host, duScript(plan.nodes.map((n) => [n.name, `${plan.dataRoot}/${n.name}`])));
  const all = (note: string) => new Map(names.map((n): [string, DataSize] => [n, { note }]));
  if (typeof how === "string") return Promise.resolve(all(`not measured: ${plan.host} is neither this machine nor an ssh:// host`));
  return new Promise((done) => {
    execFile(how.cmd, how.args, { timeout: DU_TIMEOUT_S * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout) done(all(`du on ${plan.host} failed: ${unreachableReason(String(stderr) || err.message)}`));
      else done(parseDu(String(stdout), names));
    });
  });
}

/** Runs a node's status command in its container. */
async function height(name: string, cmd: string[]): Promise<HeightResult> {
  const started = Date.now();
  const r = await runDocker(["exec", name, ...cmd], { timeoutMs: EXEC_TIMEOUT_S * 1000 });
  const timedOut = r.exitCode === null && Date.now() - started >= EXEC_TIMEOUT_S * 1000 - 100;
  return heightResult({ ...r, timedOutAfter: timedOut ? EXEC_TIMEOUT_S : null });
}

/** `cybernode status [--stack S] [--json]`: what runs on the stack's host, node by node. */
export async function cmdStatus(args: ParsedArgs): Promise<number> {
  const projectDir = process.cwd();
  const o = statusOptions(args, projectDir);
  const plan = loadStackPlan(projectDir, o);
  if (plan.nodes.length === 0) {
    if (o.json) process.stdout.write("[]\n");
    else process.stdout.write(`stack ${plan.stack} has no nodes (it only builds images); nothing runs on ${plan.host || "this machine"}\n`);
    return 0;
  }
  const names = plan.nodes.map((n) => n.name);
  return onDockerHost(plan.host, async () => {
    const version = await runDocker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 30_000 });
    if (version.exitCode !== 0 || version.stdout.trim() === "") {
      const why = version.exitCode === null ? "no answer within 30 s" : unreachableReason(version.stderr);
      process.stderr.write(
        `cybernode status: cannot reach Docker on ${plan.host} (stack ${plan.stack}): ${why}\n` +
          `Check the host with: DOCKER_HOST=${plan.host} docker info\n`,
      );
      return 1;
    }
    const inspect = await runDocker(["inspect", "--type", "container", ...names]);
    // Exit 1 with some names found still prints those; anything else is a real failure.
    if (inspect.exitCode !== 0 && !/^\s*\[/.test(inspect.stdout))
      throw new DockerError(["inspect", ...names], inspect.exitCode, inspect.stderr);
    const containers = containersByName(inspect.stdout, names);
    const [sizes, heights] = await Promise.all([
      dataSizes(plan),
      Promise.all(
        plan.nodes.map((n) =>
          containers.get(n.name)?.State?.Status === "running" && n.operation.status ? height(n.name, n.operation.status) : null,
        ),
      ),
    ]);
    const now = Date.now();
    const rows = plan.nodes.map((node, i) =>
      nodeStatus({
        node,
        container: containers.get(node.name),
        dataPath: `${plan.dataRoot}/${node.name}`,
        data: sizes.get(node.name) ?? { note: "not measured" },
        height: heights[i],
        stack: plan.stack,
        host: plan.host,
        now,
      }),
    );
    if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      process.stdout.write(
        formatReport(`stack ${plan.stack} on ${plan.host} (Docker ${version.stdout.trim()}), data in ${plan.dataRoot}`, rows),
      );
    return statusExitCode(rows);
  });
}
