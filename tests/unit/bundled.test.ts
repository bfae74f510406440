import test from "ava";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// bin/bundled.js decides whether the CLI and the providers run the compiled bundle or the sources: a
// bundle older than any source file must never run (an edited or pulled src/ would be shadowed).
const { freshBundle } = require("../../bin/bundled.js") as {
  freshBundle(name: string, root: string, env?: NodeJS.ProcessEnv): string | null;
};

function project(): { root: string; touch: (path: string, secondsAgo: number) => void } {
  const root = mkdtempSync(join(tmpdir(), "cybernode-bundled-"));
  const touch = (path: string, secondsAgo: number) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), "x");
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(join(root, path), t, t);
  };
  return { root, touch };
}

test("a bundle newer than every source file is used; a source edited after it, deep or not, is not shadowed", (t) => {
  const { root, touch } = project();
  touch("src/cli/main.ts", 100);
  touch("src/build/deep/x.ts", 90);
  touch("dist/cli.js", 50);
  t.is(freshBundle("cli", root, {}), join(root, "dist/cli.js"));
  touch("src/build/deep/x.ts", 10);
  t.is(freshBundle("cli", root, {}), null);
  rmSync(root, { recursive: true, force: true });
});

test("no bundle, another bundle's name, or CYBERNODE_NO_BUNDLE=1: the sources run", (t) => {
  const { root, touch } = project();
  touch("src/a.ts", 100);
  t.is(freshBundle("cli", root, {}), null);
  touch("dist/provider.js", 10);
  t.is(freshBundle("cli", root, {}), null);
  t.is(freshBundle("provider", root, {}), join(root, "dist/provider.js"));
  t.is(freshBundle("provider", root, { CYBERNODE_NO_BUNDLE: "1" }), null);
  rmSync(root, { recursive: true, force: true });
});

test("the bundle exports every builder module and provider the provider process loads", (t) => {
  const sources = require("../../src/pulumi/providerModules") as Record<string, unknown>;
  const runtime = require("node:fs").readFileSync(join(__dirname, "../../src/pulumi/providerRuntime.ts"), "utf8") as string;
  const keys = [...runtime.matchAll(/^ {2}(\w+): "src\/[\w/]+\.ts",$/gm)].map((m) => m[1]).sort();
  const { providers, ...modules } = sources as { providers: Record<string, unknown> };
  t.deepEqual(Object.keys(modules).sort(), keys, "providerModules.ts and SOURCES in providerRuntime.ts name the same modules");
  t.deepEqual(
    Object.keys(providers)
      .filter((k) => k.endsWith("Provider"))
      .sort(),
    ["binariesProvider", "buildImageProvider", "runImageProvider"],
    "and the providers the shims load (providerShim.ts)",
  );
});
