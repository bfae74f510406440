// `npm run bundle` (also run by `npm ci` / `npm install` as `prepare`): compiles the CLI into dist/cli.js
// and the Pulumi provider plugin into dist/plugin.js, so neither process transpiles or resolves ~80
// TypeScript files at start-up. The CLI keeps packages external (node_modules); the plugin, started once
// per engine run, bundles the SDK's gRPC server with it (one file to read and compile) and keeps external
// only tsx and esbuild (native, and they load image specs) and tar (loaded on first use). bin/bundled.js
// uses a bundle only while it is newer than src/; otherwise the sources run through tsx, as before.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const started = Date.now();
const common = {
  absWorkingDir: root,
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: "linked",
  logLevel: "error",
};
try {
  await Promise.all([
    build({ ...common, entryPoints: { cli: "src/cli/main.ts" }, packages: "external" }),
    // The Pulumi program (index.ts), run by bin/program.js; packages stay in node_modules, so the
    // program and the SDK's runtime share one @pulumi/pulumi. No source map: the SDK formats a stack
    // trace for every resource it registers, and mapping them through program.js.map costs each preview
    // ~50 ms. The bundle is plain JavaScript with each module's path above it; CYBERNODE_NO_BUNDLE=program
    // runs the TypeScript sources instead, with their own line numbers.
    build({ ...common, entryPoints: { program: "index.ts" }, packages: "external", sourcemap: false }),
    build({
      ...common,
      entryPoints: { plugin: "src/provider/main.ts" },
      external: ["tsx", "tsx/*", "esbuild", "tar", "typescript"],
    }),
  ]);
  console.log(`[bundle] dist/cli.js, dist/program.js and dist/plugin.js in ${Date.now() - started} ms`);
} catch (e) {
  // Not fatal: without a bundle the CLI and the plugin run the TypeScript sources through tsx.
  console.error(`[bundle] failed, the sources will run through tsx instead: ${e instanceof Error ? e.message : e}`);
}
