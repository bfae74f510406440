/** Single-quotes a value for sh, so any bytes but NUL pass through unchanged. Pure. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
