// `npm run bundle` (also run by `npm ci` / `npm install` as `prepare`): compiles the CLI and the builder
// modules the Pulumi providers load into dist/cli.js and dist/provider.js, so neither process transpiles
// or resolves ~80 TypeScript files at start-up. Packages stay external (node_modules). bin/bundled.js
// uses a bundle only while it is newer than src/; otherwise the sources run through tsx, as before.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const started = Date.now();
try {
  await build({
    absWorkingDir: root,
    entryPoints: { cli: "src/cli/main.ts", provider: "src/pulumi/providerModules.ts" },
    outdir: "dist",
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  console.log(`[bundle] dist/cli.js and dist/provider.js in ${Date.now() - started} ms`);
} catch (e) {
  // Not fatal: without a bundle the CLI and the providers run the TypeScript sources through tsx.
  console.error(`[bundle] failed, the sources will run through tsx instead: ${e instanceof Error ? e.message : e}`);
}
