import { defineImage } from "../../src/imageSpec/define";
import { goModule } from "../../src/imageSpec/recipes";

const VERSION = "v1.17.10";

/**
 * geth is its own RPC client: `geth attach` over the IPC socket geth opens in its data folder
 * (/cyberdata/geth.ipc) prints the head block number bare ("0", "21984321"). IPC needs neither the HTTP API
 * nor its port, so the check works for a node that turns HTTP off. `--datadir` keeps attach's console
 * history out of $HOME/.ethereum (with --exec it then writes nothing).
 */
const BLOCK_NUMBER = ["/cyberapp/geth", "attach", "--datadir=/cyberdata", "--exec", "eth.blockNumber", "/cyberdata/geth.ipc"];

/**
 * geth (go-ethereum), the Ethereum execution client, built from the pinned module release.
 *
 * CGO_ENABLED=0 gives a static binary with the pure-Go secp256k1 (github.com/decred/dcrd/dcrec/secp256k1/v4,
 * listed by `go version -m`) instead of libsecp256k1 through cgo; KZG and BLS12-381 are pure Go in
 * any case (go-eth-kzg, gnark-crypto). Signature checks are somewhat slower than with cgo; block import
 * is dominated by state access, not by ecrecover. `go build` applies the release's cmd/geth/default.pgo.
 *
 * Since the merge geth alone does not follow mainnet: it needs a consensus client (beacon node) on its
 * authenticated Engine API (8551) with the same JWT secret: a stack's shared secret, read at
 * /cybersecrets/jwt.hex by both nodes (stacks/Pulumi.eth.yaml).
 */
export default defineImage({
  description: `geth ${VERSION} (go-ethereum execution client), from source, pure-Go secp256k1`,
  // "geth v1.17.10 h1:<module sum>": the release and the exact source it was built from.
  build: goModule({ module: "github.com/ethereum/go-ethereum", version: VERSION, packages: ["cmd/geth"] }),
  run: {
    entrypoint: ["/cyberapp/geth", "--datadir=/cyberdata"],
    ports: [30303, "30303/udp", 8545, 8551],
    source: "https://github.com/ethereum/go-ethereum",
    revision: VERSION,
    // Answers while syncing (0 until snap sync has a head); the start period covers opening a large
    // database and loading the trie journal.
    health: { command: BLOCK_NUMBER, interval: 60, timeout: 10, retries: 3, startPeriod: 600 },
  },
  container: {
    name: "geth",
    restart: "always",
    // The Engine API (8551) is for the consensus client only, which reaches it on the stack's network
    // (http://geth:8551): it is not published on the host at all.
    ports: [{ port: 30303 }, { port: 30303, protocol: "udp" }, { port: 8545, bind: "127.0.0.1" }],
    // HTTP JSON-RPC (eth, net, web3) and the Engine API listen on all container addresses so that the
    // published port and the beacon node reach them; the host publishes 8545 on 127.0.0.1 only. The
    // Engine API also needs the JWT, and `vhosts=*` because the beacon node names geth by node name, not
    // "localhost". No UPnP/NAT-PMP from inside a container (the host publishes 30303; geth learns its
    // public address from discovery).
    args: [
      "--http",
      "--http.addr=0.0.0.0",
      "--authrpc.addr=0.0.0.0",
      "--authrpc.vhosts=*",
      "--authrpc.jwtsecret=/cybersecrets/jwt.hex",
      "--nat=none",
    ],
    // The Engine API JWT secret (32 random bytes as 64 hex digits), shared with the beacon node: a node
    // of this image must list a cybernode:sharedSecrets entry whose file is jwt.hex.
    sharedSecretFiles: ["jwt.hex"],
    // geth treats SIGINT and SIGTERM alike (cmd/utils.StartNode) except under `geth console`, where only
    // SIGTERM stops it, so SIGTERM. On it geth writes the in-memory trie diffs (the path-scheme journal,
    // up to the dirty cache size, GBs) and closes Pebble: on a busy disk that takes minutes.
    stopSignal: "SIGTERM",
    stopGrace: 600,
    status: { rpcPort: 8545, height: BLOCK_NUMBER },
  },
});
