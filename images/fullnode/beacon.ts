import { defineImage } from "../../src/imageSpec/define";
import { goModule } from "../../src/imageSpec/recipes";

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
 * version list ("loading deprecation ... 403 Forbidden"). The goModule recipe takes the module's source
 * zip from the proxy (`go mod download`, the same checked bytes) and runs `go build` inside it, where its
 * own go.mod and go.sum apply. It needs cgo: BLS signatures (supranational/blst, compiled from C;
 * __BLST_PORTABLE__ picks CPU features at run time so the image runs on any x86-64), KZG (c-kzg-4844)
 * and herumi/bls-eth-go-binary, whose prebuilt static library in the module links against libstdc++,
 * hence g++. The binary links glibc dynamically: bundled into the scratch run image.
 */
export default defineImage({
  description: `Prysm beacon-chain ${VERSION} (Ethereum consensus client), from the module source, cgo (blst)`,
  // The module's own go.mod applies (goModule builds inside its source): its replace directive is why
  // `go install` cannot. gitTag is what Bazel release builds stamp; `--version` then says Prysm/v7.0.0.
  build: goModule({
    module: MODULE,
    version: VERSION,
    packages: ["cmd/beacon-chain"],
    cgo: true,
    // The official golang:*-bookworm images have these already (then this only refreshes the lists).
    apt: ["gcc", "g++", "libc6-dev"],
    env: { CGO_CFLAGS: "-O2 -D__BLST_PORTABLE__" },
    ldflags: `-X ${MODULE}/runtime/version.gitTag=${VERSION}`,
    afterBuild: ["CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/beacon-height /cyberinputs/beacon-height.go"],
    artifacts: ["/out/beacon-height"],
  }),
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
    // listen on all container addresses; the host publishes them on 127.0.0.1 only. jwt.hex is the
    // stack's shared secret that geth reads too. A stack adds the network (--mainnet), where geth's
    // Engine API is (--execution-endpoint=http://geth:8551 on the stack's network) and, for mainnet,
    // --checkpoint-sync-url=${config:checkpointSyncUrl} (stacks/Pulumi.eth.yaml).
    args: ["--accept-terms-of-use", "--jwt-secret=/cybersecrets/jwt.hex", "--http-host=0.0.0.0", "--rpc-host=0.0.0.0"],
    sharedSecretFiles: ["jwt.hex"],
    settings: {
      checkpointSyncUrl:
        "a Beacon API you trust that serves finalized states, e.g. your own second beacon node or a provider from https://eth-clients.github.io/checkpoint-sync-endpoints/; the node starts from its finalized checkpoint, without it syncing from genesis takes weeks",
    },
    // beacon-chain handles SIGINT and SIGTERM alike (stops its services, closes its BoltDB).
    stopSignal: "SIGTERM",
    stopGrace: 300,
    status: { rpcPort: 3500, height: HEAD_SLOT },
  },
});
