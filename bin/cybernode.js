#!/usr/bin/env node
// Entry point of `npx cybernode`: registers the TypeScript loader (tsx; image specs are TypeScript), then
// runs the CLI from its compiled bundle when that is current (bin/bundled.js), else from the sources.

require("tsx/cjs");
const bundle = require("./bundled.js").freshBundle("cli");
(bundle ? require(bundle) : require("../src/cli/main.ts")).main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
