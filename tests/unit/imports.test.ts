import test from "ava";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// The dependency direction of src/: no import cycles (a module loaded half-way through a cycle sees
// undefined exports, which lazy require()s used to hide), and nothing outside src/cli imports the CLI.
// Type-only imports are erased at run time and do not count.

const SRC = join(__dirname, "../../src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** `{ type A, type B }`: an import list that is erased at run time like `import type`. Pure. */
function onlyTypes(names: string): boolean {
  return (
    names.startsWith("{") &&
    names
      .slice(1, -1)
      .split(",")
      .every((n) => n.trim() === "" || n.trim().startsWith("type "))
  );
}

/** The file a relative import names (`./x` → x.ts or x/index.ts), if it exists. */
function resolveModule(fromFile: string, spec: string): string | undefined {
  return [`${spec}.ts`, join(spec, "index.ts")].map((c) => resolve(dirname(fromFile), c)).find((p) => existsSync(p));
}

/** Relative modules a file loads at run time: import/export … from, require(). Pure over the text. */
function runtimeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+"(\.[^"]+)"|require\("(\.[^"]+)"\)/g)) {
    if (onlyTypes(m[1] ?? "")) continue;
    out.push(m[2] ?? m[3]);
  }
  return out;
}

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) {
    const deps = runtimeImports(readFileSync(f, "utf8")).flatMap((spec) => resolveModule(f, spec) ?? []);
    g.set(f, deps);
  }
  return g;
}

function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (n: string) => {
    const at = path.indexOf(n);
    if (at >= 0) {
      found.push([...path.slice(at), n].map((x) => relative(SRC, x)));
      return;
    }
    if (done.has(n)) return;
    path.push(n);
    for (const d of g.get(n) ?? []) visit(d);
    path.pop();
    done.add(n);
  };
  for (const n of [...g.keys()].sort()) visit(n);
  return found;
}

test("the import reader counts run-time imports and skips type-only ones", (t) => {
  t.deepEqual(
    runtimeImports('import { a } from "./a";\nimport type { B } from "./b";\nimport { type C } from "./c";\nexport { d } from "./d";'),
    ["./a", "./d"],
  );
  t.deepEqual(runtimeImports('const x = require("./x") as typeof import("./x");'), ["./x"]);
  t.deepEqual(
    cycles(
      new Map([
        ["/a", ["/b"]],
        ["/b", ["/a"]],
      ]),
    ).length,
    1,
  );
});

test("src/ has no import cycles", (t) => {
  t.deepEqual(cycles(graph()), []);
});

test("nothing outside src/cli imports the CLI", (t) => {
  const wrong = [...graph()]
    .filter(([f]) => !relative(SRC, f).startsWith("cli/"))
    .flatMap(([f, deps]) =>
      deps.filter((d) => relative(SRC, d).startsWith("cli/")).map((d) => `${relative(SRC, f)} -> ${relative(SRC, d)}`),
    );
  t.deepEqual(wrong, []);
});

/**
 * The folders' direction, lowest first: what each may import at run time besides itself. The program
 * (what index.ts runs) and the provider plugin are separate processes: the program takes only the
 * resources' contract from provider/ (checked below), never the code that runs them.
 */
const MAY_IMPORT: Record<string, string[]> = {
  imageSpec: [],
  common: [],
  docker: [],
  archive: ["common"],
  builder: ["archive", "docker", "common", "imageSpec"],
  publish: ["archive", "docker", "common"],
  stack: ["imageSpec", "common"],
  provider: ["stack", "builder", "publish", "archive", "docker", "common", "imageSpec"],
  program: ["provider", "stack", "builder", "publish", "archive", "docker", "common", "imageSpec"],
  cli: ["program", "provider", "stack", "builder", "publish", "archive", "docker", "common", "imageSpec"],
};

/** What of provider/ the program may load: the resources' inputs, outputs and version (types.ts). */
const CONTRACT = ["provider/types.ts"];

test("each folder of src/ imports only the folders below it", (t) => {
  const folder = (f: string) => relative(SRC, f).split("/")[0];
  const wrong = [...graph()].flatMap(([f, deps]) =>
    deps
      .filter((d) => folder(d) !== folder(f) && !(MAY_IMPORT[folder(f)] ?? []).includes(folder(d)))
      .map((d) => `${relative(SRC, f)} -> ${relative(SRC, d)}`),
  );
  t.deepEqual(wrong, []);
  const programLoads = [...graph()]
    .filter(([f]) => folder(f) === "program")
    .flatMap(([f, deps]) =>
      deps
        .filter((d) => folder(d) === "provider" && !CONTRACT.includes(relative(SRC, d)))
        .map((d) => `${relative(SRC, f)} -> ${relative(SRC, d)}`),
    );
  t.deepEqual(programLoads, [], "the program loads no provider code");
  t.deepEqual(
    readdirSync(SRC).filter((d) => statSync(join(SRC, d)).isDirectory() && !(d in MAY_IMPORT)),
    [],
    "a new folder gets its place in MAY_IMPORT",
  );
});

/** Packages a file imports at load time (static import/export … from, bare import), type-only ones left out. Pure. */
function staticPackageImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?:(?!type\b)([^;]*?)\s+from\s+)?"([^.][^"]*)"/g)) {
    if (onlyTypes(m[1] ?? "")) continue;
    out.push(m[2]);
  }
  return out;
}

/** Relative modules a file imports at load time, not through require() (which the bundle defers). Pure. */
const staticRelativeImports = (text: string) => runtimeImports(text.replace(/require\("[^"]+"\)/g, ""));

/** Every file the program loads before it runs (from index.ts through static imports), and the packages they import. */
function eagerProgram(): { files: string[]; packages: Map<string, string[]> } {
  const entry = join(SRC, "../index.ts");
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(f, "utf8");
    for (const p of staticPackageImports(text)) packages.set(p, [...(packages.get(p) ?? []), relative(SRC, f)]);
    for (const spec of staticRelativeImports(text)) {
      const hit = resolveModule(f, spec);
      if (hit) visit(hit);
    }
  };
  visit(entry);
  return { files: [...seen].map((f) => relative(SRC, f)), packages };
}

test("the package reader sees value imports of packages and skips type-only ones and relative paths", (t) => {
  t.deepEqual(
    staticPackageImports(
      'import * as a from "@pulumi/pulumi";\nimport type * as k from "@pulumi/kubernetes";\nimport { type X } from "x";\nimport "side";\nexport { y } from "@pulumi/pulumi/output";\nimport { z } from "./z";',
    ),
    ["@pulumi/pulumi", "side", "@pulumi/pulumi/output"],
  );
  t.deepEqual(staticRelativeImports('import { a } from "./a";\nconst b = require("./b") as typeof import("./b");'), ["./a"]);
});

/**
 * Every `pulumi preview` starts the program: what it loads before it runs is paid on every run. The SDK's
 * index (Automation API, closure serializer) and a provider's SDK (which loads that index) are loaded only
 * by the stacks that need them (require() in program.ts), never by an images-only stack.
 */
test("the program loads neither @pulumi/pulumi's index nor a provider SDK before it runs", (t) => {
  const { files, packages } = eagerProgram();
  t.true(files.includes("program/imageResource.ts") && files.includes("program/pulumiSdk.ts"), "the walk reaches the program");
  t.false(files.includes("program/dockerNodes.ts"), "dockerNodes.ts (the Docker SDK) is loaded only for a stack with nodes");
  const heavy = ["@pulumi/pulumi", "@pulumi/pulumi/runtime", "@pulumi/pulumi/automation", "@pulumi/docker", "@pulumi/kubernetes"];
  t.deepEqual(
    heavy.filter((p) => packages.has(p)).map((p) => `${p} <- ${packages.get(p)?.join(", ")}`),
    [],
  );
});
