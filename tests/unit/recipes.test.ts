import test from "ava";
import { InputError } from "../../src/imageSpec/errors";
import { debianPackage, goBinaryName, goModule } from "../../src/imageSpec/recipes";
import { validateSpec } from "../../src/imageSpec/validate";

// The recipes the catalogue and users' specs call: what they generate and what they refuse.

const RUN = { entrypoint: ["/cyberapp/btcd"] };
const CONTAINER = { name: "node" };

test("goModule: the module's source from the proxy, go build inside it (its replace directives apply), one artifact per package", (t) => {
  const b = goModule({ module: "github.com/btcsuite/btcd", version: "v0.26.2", packages: [".", "cmd/btcctl"] });
  t.is(b.from, "golang:1.26-bookworm");
  t.deepEqual(b.env, { GOTOOLCHAIN: "local", CGO_ENABLED: "0" });
  t.deepEqual(b.passEnv, ["GOPROXY", "GOSUMDB", "GOFLAGS", "GONOSUMDB", "GOPRIVATE"]);
  t.deepEqual(b.caches, { "/go/pkg/mod": "go-mod", "/root/.cache/go-build": "go-build" });
  t.regex(b.steps[0], /^go mod download -json github\.com\/btcsuite\/btcd@v0\.26\.2 > \/tmp\/mod\.json/);
  t.regex(b.steps[0], /cp -r "\$dir" \/src .*echo "btcd v0\.26\.2 \$sum" > \/out\/VERSION$/);
  t.is(b.steps[1], "cd /src && go build -trimpath -ldflags='-s -w' -o /out/ . ./cmd/btcctl");
  t.deepEqual(b.artifacts, ["/out/btcd", "/out/btcctl"]);
  t.deepEqual(b.version, { file: "/out/VERSION" });
  t.notThrows(() => validateSpec("fullnode/btcd", { build: b, run: RUN, container: CONTAINER }), "a valid build section");
});

test("goModule with cgo, Debian packages, tags, linker flags and steps of the spec's own", (t) => {
  const b = goModule({
    module: "github.com/lightningnetwork/lnd",
    version: "v0.20.0-beta",
    packages: ["cmd/lnd", "cmd/lncli"],
    tags: ["signrpc", "walletrpc"],
    ldflags: "-X github.com/lightningnetwork/lnd/build.Commit=v0.20.0-beta",
    cgo: true,
    apt: ["gcc", "libc6-dev"],
    afterBuild: ["cp /src/sample-lnd.conf /out/"],
    artifacts: ["/out/sample-lnd.conf"],
  });
  t.is(b.env?.CGO_ENABLED, "1");
  t.regex(b.steps[0], /^apt-get update && .*install -y --no-install-recommends gcc libc6-dev/);
  t.is(
    b.steps[2],
    "cd /src && go build -trimpath -tags 'signrpc,walletrpc' -ldflags='-s -w -X github.com/lightningnetwork/lnd/build.Commit=v0.20.0-beta' -o /out/ ./cmd/lnd ./cmd/lncli",
  );
  t.is(b.steps[3], "cp /src/sample-lnd.conf /out/");
  t.deepEqual(b.artifacts, ["/out/lnd", "/out/lncli", "/out/sample-lnd.conf"]);
});

test("binary names follow go build: the last element, a /vN major version skipped", (t) => {
  t.is(goBinaryName("github.com/btcsuite/btcd", "."), "btcd");
  t.is(goBinaryName("github.com/OffchainLabs/prysm/v7", "cmd/beacon-chain"), "beacon-chain");
  t.is(goBinaryName("github.com/foo/bar/v2", "."), "bar");
});

test("goModule refuses a module without a pinned version, and options that would break the step", (t) => {
  for (const version of ["", "latest", "master", "0.26.2", undefined])
    t.throws(() => goModule({ module: "github.com/btcsuite/btcd", version: version as string }), {
      instanceOf: InputError,
      message: /goModule\("github\.com\/btcsuite\/btcd"\): version: .* is not a pinned module version such as v0\.26\.2/,
    });
  t.throws(() => goModule({ module: "btcd", version: "v1.0.0" }), { message: /module: must be a module path/ });
  t.throws(() => goModule({ module: "github.com/a/b", version: "v1.0.0", packages: ["../x"] }), { message: /packages: '\.\.\/x'/ });
  t.throws(() => goModule({ module: "github.com/a/b", version: "v1.0.0", ldflags: "-X 'a=b'" }), {
    message: /ldflags: must not contain a single quote/,
  });
  t.throws(() => goModule({ module: "github.com/a/b", version: "v1.0.0", apt: ["gcc; rm -rf /"] }), {
    message: /apt: 'gcc; rm -rf \/' is not a Debian package name/,
  });
});

test("debianPackage: install, refuse another upstream release, take the programs; the version is the package's", (t) => {
  const b = debianPackage({ packages: ["tor"], binaries: ["/usr/bin/tor"], version: { package: "tor", upstream: "0.4.9.11" } });
  t.is(b.from, "debian:bookworm");
  t.regex(b.steps[0], /apt-get install -y --no-install-recommends tor && apt-get clean/);
  t.regex(
    b.steps[1],
    /case "\$v" in 0\.4\.9\.11-\*\|0\.4\.9\.11\+\*\) ;; \*\) echo "tor \$v is not 0\.4\.9\.11: update the spec's version\.upstream" >&2; exit 1;; esac/,
  );
  t.regex(b.steps[1], /&& mkdir -p \/out && cp \/usr\/bin\/tor \/out\/$/);
  t.deepEqual(b.artifacts, ["/out/tor"]);
  t.deepEqual(b.version, { command: "dpkg-query -W -f='tor ${Version}' tor" });
  t.notThrows(() =>
    validateSpec("fullnode/tor", { build: b, run: { entrypoint: ["/cyberapp/tor"], bundleLibs: true }, container: { name: "tor" } }),
  );
  t.throws(() => debianPackage({ packages: ["tor"], binaries: ["/usr/bin/tor"], version: { package: "tor", upstream: "" } }), {
    message: /version\.upstream: "" is not an upstream release such as 0\.4\.9\.11/,
  });
  t.throws(() => debianPackage({ packages: [], binaries: ["tor"], version: { package: "tor", upstream: "1" } }), {
    message: /packages: name at least one Debian package.*binaries: 'tor' must be an absolute path/s,
  });
});
