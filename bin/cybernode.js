#!/usr/bin/env node
// Entry point of `npx cybernode`: registers the TypeScript loader (tsx), then runs the CLI.

require("tsx/cjs");
require("../src/cli/main.ts")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
