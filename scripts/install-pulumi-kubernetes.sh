#!/usr/bin/env bash
# Makes sure the Pulumi engine finds the Kubernetes resource provider plugin without downloading it.
#
# `pulumi up`/`preview` (and the Automation API) look for $PULUMI_HOME/plugins/resource-kubernetes-v<version>/
# and download it from Pulumi's plugin site when it is missing. On hosts that reach a Go module proxy but
# not Pulumi's downloads (air-gapped CI, this project's test machines) this script builds the provider from
# Go modules and installs it with `pulumi plugin install --file`. It does nothing when a working plugin of
# that version is already installed.
#
# Usage: bash scripts/install-pulumi-kubernetes.sh     (after scripts/install-pulumi.sh; PULUMI_HOME defaults to ~/.pulumi)
# Env:   CYBERNODE_CACHE  where built tools are kept across clones (default /var/cache/cybernode)
#        PULUMI_CLI       the pulumi binary to use (default: the newest working one under $PULUMI_HOME/versions,
#                         then $CYBERNODE_CACHE/pulumi-v*/pulumi, then pulumi on PATH)
set -euo pipefail

# The plugin version (what @pulumi/kubernetes asks the engine for) and the provider module revision built for it.
VERSION=4.24.1
PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
PROVIDER_REV=v4.0.0-20260115033456-f47bc2d6f199
# The provider's go.mod replaces this module with ../sdk, which its module zip does not hold: use the release.
SDK_MODULE=github.com/pulumi/pulumi-kubernetes/sdk/v4
CACHE=${CYBERNODE_CACHE:-/var/cache/cybernode}
HOME_DIR=${PULUMI_HOME:-$HOME/.pulumi}
BUILT="$CACHE/pulumi-kubernetes-$VERSION/pulumi-resource-kubernetes"
PLUGIN="$HOME_DIR/plugins/resource-kubernetes-v$VERSION/pulumi-resource-kubernetes"
export PULUMI_SKIP_UPDATE_CHECK=1
start=$SECONDS

log() { echo "[install-pulumi-kubernetes] $*"; }
die() { echo "[install-pulumi-kubernetes] $*" >&2; exit 1; }

works() { [[ -x "$1" ]] && "$1" version >/dev/null 2>&1; }

# A provider has no --version: started alone it prints the port it serves gRPC on and waits for the engine.
serves() {
  [[ -x "$1" ]] || return 1
  local out pid ok=1 i
  out=$(mktemp)
  "$1" </dev/null >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    if grep -qE '^[0-9]+$' "$out"; then ok=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  return $ok
}

find_cli() {
  local c
  for c in "${PULUMI_CLI:-}" $(printf '%s\n' "$HOME_DIR"/versions/*/bin/pulumi | sort -rV) \
    $(printf '%s\n' "$CACHE"/pulumi-v*/pulumi | sort -rV) "$(command -v pulumi || true)"; do
    if [[ -n "$c" ]] && works "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

PULUMI=$(find_cli) || die "no working Pulumi CLI found: run scripts/install-pulumi.sh first (or set PULUMI_CLI)"

listed() {
  "$PULUMI" plugin ls --output json 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const found = (JSON.parse(s || "[]") || []).some(
        (p) => p.kind === "resource" && p.name === "kubernetes" && p.version === process.argv[1]);
      process.exit(found ? 0 : 1);
    });' "$VERSION"
}

if listed && serves "$PLUGIN"; then
  log "resource plugin kubernetes $VERSION is installed and runs ($PLUGIN); nothing to do"
  exit 0
fi

if ! serves "$BUILT"; then
  command -v go >/dev/null || die "go is not installed: it builds the Kubernetes provider from Go modules"
  command -v node >/dev/null || die "node is not installed: it writes the provider's embedded schema"
  log "building pulumi-resource-kubernetes $VERSION ($PROVIDER_MODULE@$PROVIDER_REV) into $BUILT" \
    "(about 11 minutes on 2 cores from cold Go caches)"
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  src=$(cd "$work" && go mod download -json "$PROVIDER_MODULE@$PROVIDER_REV" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = JSON.parse(s); if (m.Error || !m.Dir) { console.error(m.Error || "no Dir"); process.exit(1); }
      console.log(m.Dir); });') || die "go mod download $PROVIDER_MODULE@$PROVIDER_REV failed"
  cp -r "$src" "$work/provider"
  chmod -R u+w "$work/provider"
  (
    cd "$work/provider"
    cmd=cmd/pulumi-resource-kubernetes
    # main.go embeds generated files that the module zip leaves out; write them as its generate.go would.
    node -e '
      const fs = require("fs");
      const [dir, version] = process.argv.slice(1);
      const schema = JSON.parse(fs.readFileSync(`${dir}/schema.json`, "utf8"));
      schema.version = version;
      fs.writeFileSync(`${dir}/schema-embed.json`, JSON.stringify(schema));
      const mapping = JSON.parse(fs.readFileSync(`${dir}/terraform-mapping.json`, "utf8"));
      fs.writeFileSync(`${dir}/terraform-mapping-embed.json`, JSON.stringify(mapping));' "$cmd" "$VERSION"
    for f in $(sed -n 's|^//go:embed ||p' "$cmd/main.go"); do
      [[ -s "$cmd/$f" ]] || die "$cmd/main.go embeds $f, which this script does not write"
    done
    go mod edit -dropreplace="$SDK_MODULE" -require="$SDK_MODULE@v$VERSION"
    if go mod edit -json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        process.exit((JSON.parse(s).Replace || []).some((r) => r.New.Path.startsWith(".")) ? 0 : 1); });'; then
      die "the provider's go.mod has local replace directives this script does not handle: $(grep -n '=> *\.' go.mod)"
    fi
    mkdir -p "$(dirname "$BUILT")"
    go build -mod=mod -trimpath \
      -ldflags="-s -w -X $PROVIDER_MODULE/pkg/version.Version=$VERSION" \
      -o "$BUILT.partial" "./$cmd"
    mv "$BUILT.partial" "$BUILT"
  )
  serves "$BUILT" || die "$BUILT was built but does not start"
  log "built $BUILT ($(du -h "$BUILT" | cut -f1)) in $((SECONDS - start))s"
fi

"$PULUMI" plugin install resource kubernetes "$VERSION" --file "$BUILT" --reinstall
listed || die "$PULUMI plugin ls does not list resource kubernetes $VERSION after installing it"
serves "$PLUGIN" || die "$PLUGIN does not start"
log "installed resource plugin kubernetes $VERSION as $PLUGIN (built: $BUILT, CLI: $PULUMI) in $((SECONDS - start))s"
