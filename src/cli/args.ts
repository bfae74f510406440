/** Minimal argument parsing: positionals, `--flag`, `--key value` / `--key=value`. Pure. */
export interface ParsedArgs {
  positional: string[];
  flags: Set<string>;
  options: Map<string, string>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Options that take a value; everything else starting with -- is a boolean flag. */
const WITH_VALUE = new Set(["images", "user", "data-root", "state", "stack", "stacks-dir"]);

export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Set(), options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") out.flags.add("help");
    else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = a.slice(2, eq < 0 ? undefined : eq);
      if (WITH_VALUE.has(key)) {
        const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined || value === "") throw new UsageError(`--${key} needs a value`);
        out.options.set(key, value);
      } else if (eq >= 0) throw new UsageError(`--${key} takes no value`);
      else out.flags.add(key);
    } else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else out.positional.push(a);
  }
  return out;
}

/** Fails with a usage error on flags the command does not know. */
export function allowOnly(args: ParsedArgs, flags: string[], options: string[] = []): void {
  for (const f of args.flags) if (f !== "help" && !flags.includes(f)) throw new UsageError(`unknown option --${f}`);
  for (const o of args.options.keys()) if (!options.includes(o)) throw new UsageError(`unknown option --${o}`);
}
