/** The tar package, loaded on first use: a no-op build never needs it (about 20 ms of start-up). */
export const tarLib = () => require("tar") as typeof import("tar");
