import { createHmac } from "node:crypto";

/** An Engine API token: HS256 over {iat} with the 32-byte secret in hex (the Engine API auth spec), as a consensus client makes it. */
export function engineToken(hexSecret: string): string {
  const b64 = (x: string) => Buffer.from(x).toString("base64url");
  const head = `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(JSON.stringify({ iat: Math.floor(Date.now() / 1000) }))}`;
  return `${head}.${createHmac("sha256", Buffer.from(hexSecret, "hex")).update(head).digest("base64url")}`;
}
