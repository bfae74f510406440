import { request } from "node:http";

/** One JSON-RPC call (1.0 unless told, as Bitcoin-style nodes take it; geth wants 2.0) to host:port (default 127.0.0.1); the whole reply. */
export function rpc(
  port: number,
  method: string,
  params: unknown[] = [],
  jsonrpc: "1.0" | "2.0" = "1.0",
  host = "127.0.0.1",
): Promise<unknown> {
  const body = JSON.stringify({ jsonrpc, id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, method: "POST", path: "/", headers: { "content-type": "application/json" }, timeout: 5000 },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => {
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new Error(`RPC ${method}: not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`RPC ${method}: timeout`)));
    req.end(body);
  });
}

/** Polls until the RPC port answers (at most ~20 s). */
export async function waitForRpc(port: number, method = "getblockcount"): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      await rpc(port, method);
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`RPC on 127.0.0.1:${port} did not answer: ${String(last)}`);
}
