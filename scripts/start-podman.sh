#!/usr/bin/env bash
# Make Podman ready for tests/podman (called by scripts/test.sh; idempotent):
# - installs Debian's podman when missing;
# - when this machine's hard limits are below Podman's defaults for rootful containers (as in
#   sandboxes and some VMs: "error setting rlimit type 7"), sets lower default_ulimits in a drop-in
#   (/etc/containers/containers.conf.d/50-cybernode-ulimits.conf), leaving containers.conf alone;
# - copies the test base images from Docker (make-test-bases.sh makes them there) into Podman's store.
# The API service itself is started and stopped by the tests (tests/helpers/podmanHost.ts).
set -euo pipefail

log() { echo "[start-podman] $*"; }

if ! command -v podman >/dev/null; then
  log "installing podman"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y podman
fi

DROPIN=/etc/containers/containers.conf.d/50-cybernode-ulimits.conf
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
low() { [[ $1 != unlimited ]] && (($1 < $2)); }
if [[ ! -f $DROPIN ]] && ! grep -qs '^[[:space:]]*default_ulimits' /etc/containers/containers.conf; then
  if low "$nofile" 1048576 || low "$nproc" 4194304; then
    n=$(( $(ulimit -Hn) < 1024 ? $(ulimit -Hn) : 1024 ))
    p=$([[ $nproc == unlimited ]] && echo 1024 || echo $(( nproc < 1024 ? nproc : 1024 )))
    log "hard limits here are nofile $nofile, nproc $nproc: writing $DROPIN"
    mkdir -p "$(dirname "$DROPIN")"
    printf '# Written by cybernode-images scripts/start-podman.sh: Podman'"'"'s default container limits\n# exceed this machine'"'"'s hard limits ("error setting rlimit").\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
      "$n" "$n" "$p" "$p" >"$DROPIN"
  fi
fi

# Base images: the same image IDs as on Docker (docker save | podman load keeps the config digest).
for img in cybernode-test/busybox:local cybernode-test/debian:bookworm cybernode-test/golang:1.26-bookworm; do
  want=$(docker image inspect --format '{{.Id}}' "$img")
  have=$(podman image inspect --format '{{.Id}}' "$img" 2>/dev/null || true)
  if [[ sha256:$have != "$want" && $have != "$want" ]]; then
    log "copying $img from Docker"
    docker save "$img" | podman load -q >/dev/null
  fi
done
podman run --rm cybernode-test/busybox:local true
log "podman $(podman version --format '{{.Client.Version}}') is ready"
