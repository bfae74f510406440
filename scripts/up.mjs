#!/usr/bin/env node
// `npm run up` / `npm run preview`: the README's main command. Creates the stack on first use (pulumi
// stack select --create), then runs `pulumi up` (or `pulumi preview`) on it with the arguments given after `--`.
// Pulumi asks for confirmation only on a terminal; without one (CI, a pipe, ssh without -t) it refuses to
// go on unless told, so `up` passes --yes then and says so.
// On a machine that cannot reach Pulumi's downloads but whose cache holds a CLI built by
// scripts/install-pulumi.sh, a user without a CLI of their own gets a copy of that one first.
// Usage: npm run up [-- --stack NAME] [-- other pulumi up flags];  npm run preview [-- …]
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const preview = process.argv[2] === "--preview";
const args = process.argv.slice(preview ? 3 : 2);
const i = args.findIndex((a) => a === "--stack" || a === "-s" || a.startsWith("--stack="));
const stack = i < 0 ? "local" : args[i].includes("=") ? args[i].split("=")[1] : args[i + 1];
const cmdArgs = i < 0 ? ["--stack", stack, ...args] : args;
const project = join(import.meta.dirname, "..");

/** The CLI the npm `pulumi` package runs: $PULUMI_HOME/versions/<its version>/bin/pulumi. */
function npmCli() {
  const version = JSON.parse(readFileSync(join(project, "node_modules/pulumi/package.json"), "utf8")).version;
  return join(process.env.PULUMI_HOME ?? join(homedir(), ".pulumi"), "versions", version, "bin/pulumi");
}

const cache = process.env.CYBERNODE_CACHE ?? "/var/cache/cybernode";
const cachedCli = existsSync(cache) && readdirSync(cache).some((d) => d.startsWith("pulumi-v") && existsSync(join(cache, d, "pulumi")));
if (!existsSync(npmCli()) && cachedCli) {
  process.stderr.write(`[up] no Pulumi CLI in ${npmCli()}: installing the one built in ${cache} (bash scripts/install-pulumi.sh)\n`);
  const r = spawnSync("bash", [join(project, "scripts/install-pulumi.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const pulumi = (argv) => spawnSync("pulumi", argv, { stdio: "inherit" }).status ?? 1;

const selected = pulumi(["stack", "select", "--create", stack]);
if (selected !== 0) process.exit(selected);
if (preview) process.exit(pulumi(["preview", ...cmdArgs]));
const decided = cmdArgs.some((a) => ["--yes", "-y", "--skip-preview", "-f", "--preview-only"].includes(a));
if (!process.stdin.isTTY && !decided) {
  process.stderr.write("[up] stdin is not a terminal, so Pulumi cannot ask for confirmation: running pulumi up --yes\n");
  cmdArgs.push("--yes");
}
process.exit(pulumi(["up", ...cmdArgs]));
