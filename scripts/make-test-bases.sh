#!/usr/bin/env bash
# Build local stand-ins for the base images the tests use. No registry is
# reachable here, so images are made from Debian packages and the host's Go
# toolchain. Each image is skipped if it already exists (idempotent).
set -euo pipefail

BUSYBOX_IMG=cybernode-test/busybox:local
DEBIAN_IMG=cybernode-test/debian:bookworm
GOLANG_IMG=cybernode-test/golang:1.26-bookworm

log() { echo "[make-test-bases] $*"; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Temp dir / container of the step in progress; removed on any exit.
WORK= CTR=
cleanup() {
  if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
  if [[ -n $CTR ]]; then docker rm -f "$CTR" >/dev/null 2>&1 || true; fi
  WORK= CTR=
}
trap cleanup EXIT

# Debian mirror: first URI from the machine's apt sources (deb822 or one-line).
debian_mirror() {
  local m
  m=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
        /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | head -n1 | awk '{print $2}') || true
  echo "${m:-http://deb.debian.org/debian}"
}

make_busybox() {
  # Debian's busybox-static installs a static /bin/busybox (the image has no libc).
  local bb=/bin/busybox dir
  [[ -x $bb ]] || { echo "need busybox-static (/bin/busybox)" >&2; exit 1; }
  WORK=$(mktemp -d) && dir=$WORK && chmod 755 "$dir"  # becomes the image root
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root"
  chmod 1777 "$dir/tmp"
  cp "$bb" "$dir/bin/busybox"
  # One symlink per applet, all in /bin (like the official busybox image).
  for a in $("$bb" --list); do
    [[ $a == busybox ]] || ln -s busybox "$dir/bin/$a"
  done
  # Minimal user database so `id`, `--user nobody` etc. resolve names.
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . \
    | docker import --change 'CMD ["/bin/sh"]' - "$BUSYBOX_IMG" >/dev/null
  cleanup
  docker run --rm "$BUSYBOX_IMG" sh -c 'id && ls /bin/wget >/dev/null && echo busybox ok'
}

make_debian() {
  local mirror dir
  mirror=$(debian_mirror)
  WORK=$(mktemp -d) && dir=$WORK && chmod 755 "$dir"  # becomes the image root
  log "debootstrap minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >/tmp/cybernode-debootstrap.log 2>&1 \
    || { tail -n 30 /tmp/cybernode-debootstrap.log >&2; exit 1; }
  # Drop caches that only bloat the image.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  # Trust what this host trusts (Debian's CAs plus any local ones, e.g. an egress proxy's), as the
  # official images trust Debian's ca-certificates: builds fetch modules over TLS (go install).
  mkdir -p "$dir/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  tar --numeric-owner -C "$dir" -c . \
    | docker import --change 'CMD ["/bin/bash"]' - "$DEBIAN_IMG" >/dev/null
  cleanup
  docker run --rm "$DEBIAN_IMG" sh -c '. /etc/os-release && echo "$PRETTY_NAME"'
}

make_golang() {
  local goroot ctr
  goroot=$(go env GOROOT)
  [[ -x $goroot/bin/go ]] || { echo "no Go toolchain at $goroot" >&2; exit 1; }
  log "copying $goroot ($("$goroot/bin/go" version)) into $DEBIAN_IMG"
  # Create (not start) a container, copy files in, commit it as a new image.
  CTR=$(docker create "$DEBIAN_IMG") && ctr=$CTR
  docker cp "$goroot/." "$ctr:/usr/local/go"
  # GOPATH dir, world-writable like the official golang image, so non-root builds work.
  WORK=$(mktemp -d) && chmod 1777 "$WORK"
  docker cp "$WORK/." "$ctr:/go"
  docker commit \
    --change 'ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV GOTOOLCHAIN=local' \
    --change 'ENV GOPATH=/go' \
    --change 'CMD ["/bin/bash"]' \
    "$ctr" "$GOLANG_IMG" >/dev/null
  cleanup
  docker run --rm "$GOLANG_IMG" sh -c 'go version && command -v ldd && command -v sh'
}

# Images made before the CA bundle was added are made again (and the golang one on top of them).
has_ca() { docker run --rm --entrypoint /bin/sh "$1" -c 'test -s /etc/ssl/certs/ca-certificates.crt' >/dev/null 2>&1; }
for img in "$DEBIAN_IMG" "$GOLANG_IMG"; do
  if exists "$img" && ! has_ca "$img"; then
    log "$img has no CA bundle; removing it to make it again"
    docker rmi -f "$GOLANG_IMG" "$DEBIAN_IMG" >/dev/null 2>&1 || true
    break
  fi
done

# build IMAGE FUNC: skip if present, else run FUNC and report elapsed seconds.
build() {
  local img=$1 fn=$2 start
  if exists "$img"; then log "$img exists, skipping"; return; fi
  log "building $img"
  start=$SECONDS
  "$fn"
  log "built $img in $((SECONDS - start))s"
}

build "$BUSYBOX_IMG" make_busybox
build "$DEBIAN_IMG" make_debian
build "$GOLANG_IMG" make_golang

docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep '^cybernode-test/' || true
# Map the names the specs use to these stand-ins for every checkout on this machine (the machine-wide
# mapping file, README "Base-image mapping"), so `npm run up` and `cybernode build` work here as
# written. Entries of the file's own are kept; ours are set.
MAP_FILE=${CYBERNODE_MACHINE_BASE_MAP:-/etc/cybernode/base-images.json}
mkdir -p "$(dirname "$MAP_FILE")"
node -e '
  const fs = require("fs");
  const [file, ...pairs] = process.argv.slice(1);
  let map = {};
  try { map = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
  for (const p of pairs) { const i = p.indexOf("="); map[p.slice(0, i)] = p.slice(i + 1); }
  fs.writeFileSync(file, JSON.stringify(map, null, 2) + "\n");
' "$MAP_FILE" "golang:1.26-bookworm=$GOLANG_IMG" "debian:bookworm=$DEBIAN_IMG" "busybox:stable=$BUSYBOX_IMG"
log "base-image mapping in $MAP_FILE: $(tr -d ' \n' <"$MAP_FILE")"
