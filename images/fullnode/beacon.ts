import { defineImage } from "../../src/spec/define";

const MODULE = "github.com/OffchainLabs/prysm/v7";
/**
 * The Go module proxy serves this exact version but refuses Prysm's version lists (403), so newer
 * releases cannot be discovered with `go list -m -versions`: try a newer tag by name when updating.
 */
const VERSION = "v7.0.0";

/** Our small Beacon API client (images/fullnode/beacon/beacon-height.go): prints the head slot bare. */
const HEAD_SLOT = ["/cyberapp/beacon-height"];

/**
 * Prysm's beacon-chain, an Ethereum consensus client, to drive geth (fullnode/geth) over its Engine API.
 *
 * `go install ${MODULE}/cmd/beacon-chain@${VERSION}` cannot work: Prysm's go.mod has a replace directive
 * (json-iterator), which `go install module@version` refuses, and here it already stops at the refused
 * version list ("loading deprecation ... 403 Forbidden"). So the build takes the module's source zip from
 * the proxy (`go mod download`, the same checked bytes) and runs `go build` inside it, where its own
 * go.mod and go.sum apply. It needs cgo: BLS signatures (supranational/blst, compiled from C;
 * __BLST_PORTABLE__ picks CPU features at run time so the image runs on any x86-64), KZG (c-kzg-4844)
 * and herumi/bls-eth-go-binary, whose prebuilt static library in the module links against libstdc++,
 * hence g++. The binary links glibc dynamically: bundled into the scratch run image.
 */
export default defineImage({
  description: `Prysm beacon-chain ${VERSION} (Ethereum consensus client), from the module source, cgo (blst)`,
  build: {
    from: "golang:1.26-bookworm",
    env: { GOTOOLCHAIN: "local" },
    // Users behind a module mirror keep their settings; the values are part of the cache key.
    passEnv: ["GOPROXY", "GOSUMDB", "GOFLAGS", "GONOSUMDB", "GOPRIVATE"],
    caches: { "/go/pkg/mod": "go-mod", "/root/.cache/go-build": "go-build" },
    steps: [
      // The official golang:*-bookworm images have these already (then this only refreshes the lists).
      "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc g++ libc6-dev && rm -rf /var/lib/apt/lists/*",
      // The module cache is a volume (not committed): copy the source out of it. VERSION records the sum.
      `go mod download -json ${MODULE}@${VERSION} > /tmp/mod.json && dir=$(sed -n 's/.*"Dir": "\\(.*\\)",/\\1/p' /tmp/mod.json)` +
        ` && sum=$(sed -n 's/.*"Sum": "\\(.*\\)",/\\1/p' /tmp/mod.json) && test -n "$dir" && test -n "$sum"` +
        ` && rm -rf /src && cp -r "$dir" /src && chmod -R u+w /src && mkdir -p /out && echo "beacon-chain ${VERSION} $sum" > /out/VERSION`,
      // gitTag is what Bazel release builds stamp; `--version` then says Prysm/${VERSION}.
      `cd /src && CGO_ENABLED=1 CGO_CFLAGS='-O2 -D__BLST_PORTABLE__' go build -trimpath -ldflags='-s -w -X ${MODULE}/runtime/version.gitTag=${VERSION}' -o /out/beacon-chain ./cmd/beacon-chain`,
      "CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/beacon-height /cyberinputs/beacon-height.go",
    ],
    artifacts: ["/out/beacon-chain", "/out/beacon-height"],
    // "beacon-chain v7.0.0 h1:<module sum>": the release and the exact source it was built from.
    version: { file: "/out/VERSION" },
  },
  run: {
    entrypoint: ["/cyberapp/beacon-chain", "--datadir=/cyberdata"],
    // P2P: 13000 tcp (libp2p) and udp (QUIC), 12000 udp (discv5). Beacon API 3500, gRPC 4000.
    ports: [13000, "13000/udp", "12000/udp", 3500, 4000],
    bundleLibs: true,
    source: "https://github.com/OffchainLabs/prysm",
    revision: VERSION,
    // Answers while syncing; the start period covers checkpoint sync and opening a large database.
    health: { command: HEAD_SLOT, interval: 60, timeout: 10, retries: 3, startPeriod: 600 },
  },
  container: {
    name: "beacon",
    restart: "always",
    ports: [
      { port: 13000 },
      { port: 13000, protocol: "udp" },
      { port: 12000, protocol: "udp" },
      { port: 3500, bind: "127.0.0.1" },
      { port: 4000, bind: "127.0.0.1" },
    ],
    // Running the node means accepting Prysm's terms of use (it asks interactively otherwise). The APIs
    // listen on all container addresses; the host publishes them on 127.0.0.1 only. jwt.hex must be a
    // copy of geth's (<dataRoot>/geth/jwt.hex): nodes cannot share a file, so it is not made here, and
    // the node fails to start until it is copied. A stack adds --execution-endpoint (where geth's 8551
    // is reachable from this container), the network (--mainnet) and --checkpoint-sync-url.
    args: ["--accept-terms-of-use", "--jwt-secret=/cyberdata/jwt.hex", "--http-host=0.0.0.0", "--rpc-host=0.0.0.0"],
    // beacon-chain handles SIGINT and SIGTERM alike (stops its services, closes its BoltDB).
    stopSignal: "SIGTERM",
    stopGrace: 300,
    status: { rpcPort: 3500, height: HEAD_SLOT },
  },
});
