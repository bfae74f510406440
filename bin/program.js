// The Pulumi program (Pulumi.yaml `main`): index.ts, run from its compiled bundle dist/program.js while that
// is newer than index.ts and src/ (bin/bundled.js), else from the TypeScript sources through tsx. The
// bundle saves every preview and up the loader's start and the compiling of the program's modules.
const { freshBundle, requireWithCodeCache } = require("./bundled.js");

const bundle = freshBundle("program");
if (bundle) {
  module.exports = requireWithCodeCache(bundle);
} else {
  require("tsx/cjs");
  module.exports = require("../index.ts");
}
