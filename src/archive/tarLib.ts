/** The tar package, loaded on first use: a no-op build never needs it, so never pays its start-up. */
export const tarLib = () => require("tar") as typeof import("tar");
