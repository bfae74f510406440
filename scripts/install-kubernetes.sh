#!/usr/bin/env bash
# Makes everything that scripts/kubernetes/start.ts needs for a single-node test cluster, without a
# container registry and without downloading release binaries:
# - Debian packages etcd-server, containerd, runc, containernetworking-plugins (only those missing);
# - kube-apiserver, kube-controller-manager, kube-scheduler and kubelet built from the Go module
#   k8s.io/kubernetes@$K8S_VERSION into $CACHE/kubernetes-$K8S_VERSION/;
# - "pause", a tiny static Go program (waits for SIGTERM/SIGINT, reaps children) used as the Pod
#   sandbox image, into the same folder;
# - coredns (github.com/coredns/coredns@$COREDNS_VERSION, `go install` of the module release), the
#   cluster DNS every Kubernetes distribution runs: Pods reach each other's Services by name.
# A binary that is already there and answers is not built again; a second run does nothing.
#
# k8s.io/kubernetes is not meant to be used as a module: its go.mod requires the staging modules
# (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and replaces them with ./staging/src/.... A main module
# has to repeat one `replace k8s.io/X => k8s.io/X v0.<minor>.<patch>` per staging replace; they are read
# from k8s.io/kubernetes's own go.mod in the module cache so the list always matches the version.
# Without the -X flags the binaries report the version `v0.0.0-master+$Format:%H$`.
#
# Cold, on 2 cores: about 10-12 minutes (apiserver ~7 min, the others 0.5-1.5 min each, built one
# after another); the Go build cache grows by ~8 GB.
#
# Usage: bash scripts/install-kubernetes.sh
# Env:   CYBERNODE_CACHE        where built tools are kept across clones (default /var/cache/cybernode)
#        CYBERNODE_K8S_VERSION  the Kubernetes release to build (default below)
# GOPROXY, GOFLAGS, GOSUMDB and the rest are taken from the machine as they are (`go env`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[install-kubernetes] $*"; }
die() { echo "[install-kubernetes] $*" >&2; exit 1; }

K8S_VERSION=${CYBERNODE_K8S_VERSION:-v1.37.2}
COREDNS_VERSION=v1.14.7
[[ $K8S_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "CYBERNODE_K8S_VERSION must look like v1.37.2, not $K8S_VERSION"
MINOR=${BASH_REMATCH[1]}
STAGING_VERSION=v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]} # k8s.io/api etc. are tagged v0.<minor>.<patch>
CACHE=${CYBERNODE_CACHE:-/var/cache/cybernode}
DIR=$CACHE/kubernetes-$K8S_VERSION
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
start=$SECONDS

# --- Debian packages -------------------------------------------------------------------------------
# etcd-server: etcd; containerd + runc: the node's container runtime (a separate instance is started,
# never the one dockerd uses); containernetworking-plugins: /usr/lib/cni/{bridge,host-local,loopback,portmap}.
missing=()
for pkg in etcd-server containerd runc containernetworking-plugins; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
for tool in etcd ctr containerd containerd-shim-runc-v2 runc openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing after installing packages"
done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/portmap ]] ||
  die "/usr/lib/cni lacks the bridge, host-local or portmap CNI plugin"
[[ -x /usr/bin/kubectl ]] || command -v kubectl >/dev/null || log "note: kubectl is not on this machine (the tests expect /usr/bin/kubectl)"

# --- binaries --------------------------------------------------------------------------------------
works() { # works NAME: the cached binary is there and reports the wanted version
  local bin=$DIR/$1
  [[ -x $bin ]] || return 1
  if [[ $1 == pause ]]; then
    # It must start and leave with 0 on SIGTERM.
    timeout --preserve-status -s TERM 0.5 "$bin" >/dev/null 2>&1
  elif [[ $1 == coredns ]]; then
    [[ $("$bin" -version 2>/dev/null | head -1) == "CoreDNS-${COREDNS_VERSION#v}" ]]
  else
    [[ $("$bin" --version 2>/dev/null) == "Kubernetes $K8S_VERSION" ]]
  fi
}

todo=()
for name in "${COMPONENTS[@]}" pause coredns; do
  works "$name" || todo+=("$name")
done
if ((${#todo[@]} == 0)); then
  log "all binaries are in $DIR ($K8S_VERSION); nothing to build"
  exit 0
fi

command -v go >/dev/null || die "go is not installed: it builds Kubernetes from Go modules"
log "building ${todo[*]} into $DIR (cold: about 10-12 minutes on 2 cores, one after another)"
log "go $(go env GOVERSION), GOPROXY=$(go env GOPROXY), GOFLAGS=$(go env GOFLAGS)"
mkdir -p "$DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timed_build() { # timed_build NAME GO-BUILD-ARGS...: builds into $DIR/NAME, prints the time it took
  local name=$1 t0=$SECONDS
  shift
  log "building $name"
  go build -o "$DIR/$name.partial" "$@"
  mv "$DIR/$name.partial" "$DIR/$name"
  log "built $name in $((SECONDS - t0))s"
}

needs_k8s=0
for name in "${todo[@]}"; do [[ $name == pause || $name == coredns ]] || needs_k8s=1; done

if ((needs_k8s)); then
  mkdir -p "$work/k8s"
  cd "$work/k8s"
  cat >go.mod <<EOF
module cybernodek8sbuild

go 1.26
EOF
  {
    echo '//go:build tools'
    echo
    echo 'package tools'
    echo
    for name in "${COMPONENTS[@]}"; do echo "import _ \"k8s.io/kubernetes/cmd/$name\""; done
  } >tools.go
  t0=$SECONDS
  log "downloading k8s.io/kubernetes@$K8S_VERSION"
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $gomod ]] || die "go mod download did not give k8s.io/kubernetes's go.mod"
  # Lines like `	k8s.io/api => ./staging/src/k8s.io/api` (inside a replace block or as single replaces).
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(replace[[:space:]]\{1,\}\)\{0,1\}\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\2#p' "$gomod")
  ((${#staging[@]} > 10)) || die "found only ${#staging[@]} staging replaces in $gomod"
  log "${#staging[@]} staging modules replaced by their $STAGING_VERSION tags"
  edits=(-require "k8s.io/kubernetes@$K8S_VERSION")
  for mod in "${staging[@]}"; do edits+=(-replace "$mod=$mod@$STAGING_VERSION"); done
  go mod edit "${edits[@]}"
  go mod tidy
  log "modules ready in $((SECONDS - t0))s"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR"
  for name in "${todo[@]}"; do
    [[ $name == pause || $name == coredns ]] && continue
    timed_build "$name" -trimpath -ldflags="$ldflags" "k8s.io/kubernetes/cmd/$name"
    works "$name" || die "$DIR/$name does not report Kubernetes $K8S_VERSION: $("$DIR/$name" --version 2>&1 | head -1)"
  done
fi

if [[ " ${todo[*]} " == *" pause "* ]]; then
  mkdir -p "$work/pause"
  cd "$work/pause"
  cat >go.mod <<EOF
module cybernodepause

go 1.26
EOF
  cat >main.go <<'EOF'
// pause is the Pod sandbox process: it holds the Pod's namespaces, reaps orphaned children (it is
// PID 1 of the sandbox) and leaves with 0 on SIGTERM or SIGINT.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
EOF
  CGO_ENABLED=0 timed_build pause -trimpath -ldflags="-s -w" .
  works pause || die "$DIR/pause does not leave with 0 on SIGTERM"
fi

if [[ " ${todo[*]} " == *" coredns "* ]]; then
  t0=$SECONDS
  log "building coredns $COREDNS_VERSION"
  mkdir -p "$work/coredns"
  CGO_ENABLED=0 GOBIN="$work/coredns" go install -trimpath -ldflags="-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  mv "$work/coredns/coredns" "$DIR/coredns"
  works coredns || die "$DIR/coredns does not report CoreDNS-${COREDNS_VERSION#v}: $("$DIR/coredns" -version 2>&1 | head -1)"
  log "built coredns in $((SECONDS - t0))s"
fi

log "ready in $DIR after $((SECONDS - start))s: $(cd "$DIR" && echo *)"
