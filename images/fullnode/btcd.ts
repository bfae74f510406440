import { defineImage } from "../../src/imageSpec/define";
import { goModule } from "../../src/imageSpec/recipes";

const VERSION = "v0.26.2";

/**
 * btcctl asks btcd on the container's loopback with the credentials of /cyberdata/rpc.conf, which the
 * data folder gets once (random password, mode 0600) and btcd reads with -C. The RPC port is 8334 on
 * every network (--testnet included), so the same command works for all of them.
 */
const BTCCTL = ["/cyberapp/btcctl", "-C", "/cyberdata/rpc.conf", "--rpcserver=127.0.0.1:8334", "getblockcount"];

/** btcd, the Go Bitcoin full node, and btcctl, built from the pinned module release. */
export default defineImage({
  description: `btcd ${VERSION} full node and btcctl, from source`,
  // Static binaries (no cgo); the version is "btcd v0.26.2 h1:<module sum>": the release and its exact source.
  build: goModule({ module: "github.com/btcsuite/btcd", version: VERSION, packages: [".", "cmd/btcctl"] }),
  run: {
    entrypoint: ["/cyberapp/btcd", "--datadir=/cyberdata", "--logdir=/cyberdata"],
    ports: [8333, 8334],
    source: "https://github.com/btcsuite/btcd",
    revision: VERSION,
    // Answers while syncing; the start period covers loading a large block index.
    health: { command: BTCCTL, interval: 60, timeout: 10, retries: 3, startPeriod: 600 },
  },
  container: {
    name: "btcd",
    restart: "always",
    ports: [{ port: 8333 }, { port: 8334, bind: "127.0.0.1" }],
    // RPC with TLS (certificate in /cyberdata/.btcd) on all container addresses; the host publishes it on
    // 127.0.0.1 only. The password is in <data folder>/rpc.conf on the host.
    args: ["-C", "/cyberdata/rpc.conf", "--rpclisten=0.0.0.0:8334"],
    secretFiles: { "rpc.conf": "rpcuser=cybernode\nrpcpass=${random}\n" },
    // btcd flushes its UTXO cache and block index on SIGTERM: minutes on a large cache.
    stopSignal: "SIGTERM",
    stopGrace: 300,
    status: { rpcPort: 8334, height: BTCCTL },
  },
});
