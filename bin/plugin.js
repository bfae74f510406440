// The provider plugin's code, started by bin/pulumi-resource-cybernode-images (through bin/node-no-extra-ca).
// Runs dist/plugin.js while it is newer than src/ (bin/bundled.js), else the TypeScript sources.
const { freshBundle, requireWithCodeCache, restoreHeldEnv } = require("./bundled.js");

restoreHeldEnv(process.env);
const bundle = freshBundle("plugin");
let plugin;
if (bundle) {
  plugin = requireWithCodeCache(bundle);
} else {
  require("tsx/cjs");
  plugin = require("../src/provider/main.ts");
}
plugin.serve(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`cybernode provider plugin: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
