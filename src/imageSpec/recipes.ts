import { InputError } from "./errors";
import type { BuildSpec } from "./types";

/**
 * Recipes: the `build` sections that many specs share, as functions a spec calls, so that a spec holds
 * only what is particular to its daemon. Pure: each returns plain spec data (validated again when the
 * spec loads) or throws an InputError naming the recipe and the option.
 */

/** The Go module proxy settings a user behind a mirror keeps; their values are part of the cache key. */
const GO_PASS_ENV = ["GOPROXY", "GOSUMDB", "GOFLAGS", "GONOSUMDB", "GOPRIVATE"];
/** A module version the proxy can serve as is: a release, a pre-release or a pseudo-version. */
const GO_VERSION_RE = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const GO_MODULE_RE = /^[a-z0-9.-]+\.[a-z]{2,}(\/[A-Za-z0-9._~-]+)+$/;
const PACKAGE_RE = /^(\.|[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)$/;
const SAFE_RE = /^[^'\n\0]*$/;

export interface GoModuleBuild {
  /** Module path, e.g. `github.com/btcsuite/btcd`. */
  module: string;
  /** The pinned version, e.g. `v0.26.2` (never `latest`: the build must be reproducible). */
  version: string;
  /** Package directories in the module to build, as `go build` takes them: "." (the module root), "cmd/btcctl". Default ["."]. */
  packages?: string[];
  /** Build tags. */
  tags?: string[];
  /** More linker flags after `-s -w`, e.g. `-X main.version=v1.2.3`. */
  ldflags?: string;
  /** Build with cgo (a dynamically linked binary: set `run.bundleLibs: true`). Default false: static. */
  cgo?: boolean;
  /** Debian packages the build needs first, e.g. a C toolchain for cgo: ["gcc", "g++", "libc6-dev"]. */
  apt?: string[];
  /** More build environment, e.g. CGO_CFLAGS. */
  env?: Record<string, string>;
  /** Toolchain image. Default golang:1.26-bookworm. */
  from?: string;
  /** Steps after the module's build, e.g. a helper from /cyberinputs; they may write more to /out. */
  afterBuild?: string[];
  /** The files those steps write, as artifacts. */
  artifacts?: string[];
}

/** The binary `go build -o dir/` names after a package: its last path element, skipping a /vN major suffix. Pure. */
export function goBinaryName(module: string, pkg: string): string {
  const parts = (pkg === "." ? module : `${module}/${pkg}`).split("/");
  const last = parts[parts.length - 1];
  return /^v\d+$/.test(last) && parts.length > 1 ? parts[parts.length - 2] : last;
}

/**
 * A Go program from a pinned module release. It takes the module's source zip from the proxy (`go mod
 * download`, checked against the checksum database) and runs `go build` inside it, so the module's own
 * go.mod applies, `replace` directives included (which `go install module@version` refuses: lnd,
 * Prysm). Go module and build caches persist between builds; /out/VERSION records
 * `<binary> <version> <module sum>`, the exact source the binaries came from.
 */
export function goModule(o: GoModuleBuild): BuildSpec {
  const where = `goModule(${JSON.stringify(o.module)})`;
  const bad: string[] = [];
  if (typeof o.module !== "string" || !GO_MODULE_RE.test(o.module))
    bad.push("module: must be a module path such as github.com/btcsuite/btcd");
  if (typeof o.version !== "string" || !GO_VERSION_RE.test(o.version))
    bad.push(`version: ${JSON.stringify(o.version)} is not a pinned module version such as v0.26.2 (a recipe builds one exact release)`);
  const packages = o.packages ?? ["."];
  if (!packages.length) bad.push('packages: name at least one package, e.g. ["."] or ["cmd/geth"]');
  for (const p of packages)
    if (!PACKAGE_RE.test(p) || p.split("/").includes("..")) bad.push(`packages: '${p}' is not a package directory of the module`);
  for (const [k, v] of [
    ["ldflags", o.ldflags ?? ""],
    ["tags", (o.tags ?? []).join(",")],
  ] as const)
    if (!SAFE_RE.test(v)) bad.push(`${k}: must not contain a single quote or a newline`);
  for (const p of o.apt ?? []) if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) bad.push(`apt: '${p}' is not a Debian package name`);
  if (bad.length) throw new InputError(where, bad);

  const names = packages.map((p) => goBinaryName(o.module, p));
  const tags = o.tags?.length ? ` -tags '${o.tags.join(",")}'` : "";
  const ldflags = `-s -w${o.ldflags ? ` ${o.ldflags}` : ""}`;
  const source = `${o.module}@${o.version}`;
  return {
    from: o.from ?? "golang:1.26-bookworm",
    env: { GOTOOLCHAIN: "local", CGO_ENABLED: o.cgo ? "1" : "0", ...(o.env ?? {}) },
    passEnv: GO_PASS_ENV,
    caches: { "/go/pkg/mod": "go-mod", "/root/.cache/go-build": "go-build" },
    steps: [
      ...(o.apt?.length
        ? [
            `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${o.apt.join(" ")} && rm -rf /var/lib/apt/lists/*`,
          ]
        : []),
      // The module cache is a volume (never committed): the source is copied out of it.
      `go mod download -json ${source} > /tmp/mod.json && dir=$(sed -n 's/.*"Dir": "\\(.*\\)",/\\1/p' /tmp/mod.json)` +
        ` && sum=$(sed -n 's/.*"Sum": "\\(.*\\)",/\\1/p' /tmp/mod.json) && test -n "$dir" && test -n "$sum"` +
        ` && rm -rf /src && cp -r "$dir" /src && chmod -R u+w /src && mkdir -p /out && echo "${names[0]} ${o.version} $sum" > /out/VERSION`,
      `cd /src && go build -trimpath${tags} -ldflags='${ldflags}' -o /out/ ${packages.map((p) => (p === "." ? "." : `./${p}`)).join(" ")}`,
      ...(o.afterBuild ?? []),
    ],
    artifacts: [...names.map((n) => `/out/${n}`), ...(o.artifacts ?? [])],
    version: { file: "/out/VERSION" },
  };
}

export interface DebianPackageBuild {
  /** Packages to install, e.g. ["tor"]. */
  packages: string[];
  /** Absolute paths of the programs to take, e.g. ["/usr/bin/tor"]. A wrapper script is no program: take the ELF it runs. */
  binaries: string[];
  /** The package whose version is the image's, the upstream release it must be (the build fails on another), and the name the version starts with (default: the first binary's). */
  version: { package: string; upstream: string; name?: string };
  /** Default debian:bookworm. */
  from?: string;
}

/**
 * Programs from Debian packages. The build fails when the archive ships another upstream release than
 * the spec pins; the version is the package's Debian version. Debian's programs are dynamically linked:
 * the spec sets `run.bundleLibs: true`, which bundles the libraries `ldd` finds (not those loaded at run
 * time with dlopen, nor data files: ship those as artifacts).
 */
export function debianPackage(o: DebianPackageBuild): BuildSpec {
  const where = `debianPackage(${JSON.stringify(o.packages)})`;
  const bad: string[] = [];
  if (!Array.isArray(o.packages) || !o.packages.length) bad.push("packages: name at least one Debian package");
  for (const p of o.packages ?? []) if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) bad.push(`packages: '${p}' is not a Debian package name`);
  if (!Array.isArray(o.binaries) || !o.binaries.length) bad.push('binaries: name the programs to take, e.g. ["/usr/bin/tor"]');
  for (const b of o.binaries ?? [])
    if (!/^\/[A-Za-z0-9._/+-]+$/.test(b) || b.split("/").includes("..")) bad.push(`binaries: '${b}' must be an absolute path`);
  const v = o.version ?? ({} as DebianPackageBuild["version"]);
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(String(v.package))) bad.push("version.package: the package whose version the image carries");
  if (!/^[0-9][A-Za-z0-9.~+-]*$/.test(String(v.upstream)))
    bad.push(`version.upstream: ${JSON.stringify(v.upstream)} is not an upstream release such as 0.4.9.11 (a recipe pins one)`);
  if (bad.length) throw new InputError(where, bad);
  const name = v.name ?? o.binaries[0].split("/").pop();
  return {
    from: o.from ?? "debian:bookworm",
    steps: [
      `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${o.packages.join(" ")} && apt-get clean && rm -rf /var/lib/apt/lists/*`,
      `v=$(dpkg-query -W -f='\${Version}' ${v.package}); case "$v" in ${v.upstream}-*|${v.upstream}+*) ;; *) echo "${v.package} $v is not ${v.upstream}: update the spec's version.upstream" >&2; exit 1;; esac` +
        ` && mkdir -p /out && cp ${o.binaries.join(" ")} /out/`,
    ],
    artifacts: o.binaries.map((b) => `/out/${b.split("/").pop()}`),
    version: { command: `dpkg-query -W -f='${name} \${Version}' ${v.package}` },
  };
}
