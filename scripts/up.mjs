#!/usr/bin/env node
// `npm run up`: the README's main command. Creates the stack on first use (pulumi stack select --create),
// then runs `pulumi up --stack <stack>` with the arguments given after `--`. Pulumi asks for confirmation
// only on a terminal; without one (CI, a pipe, ssh without -t) it refuses to go on unless told, so this
// passes --yes then and says so.
// Usage: npm run up [-- --stack NAME] [-- other pulumi up flags]
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const i = args.findIndex((a) => a === "--stack" || a === "-s" || a.startsWith("--stack="));
const stack = i < 0 ? "local" : args[i].includes("=") ? args[i].split("=")[1] : args[i + 1];
const upArgs = i < 0 ? ["--stack", stack, ...args] : args;

const pulumi = (argv) => spawnSync("pulumi", argv, { stdio: "inherit" }).status ?? 1;

const selected = pulumi(["stack", "select", "--create", stack]);
if (selected !== 0) process.exit(selected);
const decided = upArgs.some((a) => ["--yes", "-y", "--skip-preview", "-f", "--preview-only"].includes(a));
if (!process.stdin.isTTY && !decided) {
  process.stderr.write(`[up] stdin is not a terminal, so Pulumi cannot ask for confirmation: running pulumi up --yes\n`);
  upArgs.push("--yes");
}
process.exit(pulumi(["up", ...upArgs]));
