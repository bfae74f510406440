/**
 * Parses `ldd` output (glibc and musl styles) into the absolute paths a binary needs at run time:
 * the program interpreter and each resolved library. Pure.
 */
export interface LddResult {
  /** Absolute paths as the loader looks them up (where they must exist in the run image). */
  paths: string[];
  /** Libraries ldd could not find. */
  missing: string[];
  /** True when ldd says the file is not dynamically linked. */
  static: boolean;
}

export function parseLdd(output: string): LddResult {
  const paths = new Set<string>();
  const missing: string[] = [];
  let isStatic = false;
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (/not a dynamic executable|statically linked/.test(line)) {
      isStatic = true;
      continue;
    }
    let m = /^(\S+) => not found/.exec(line);
    if (m) {
      missing.push(m[1]);
      continue;
    }
    m = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) {
      paths.add(m[1]);
      continue;
    }
    m = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line); // the interpreter, e.g. /lib64/ld-linux-x86-64.so.2
    if (m) paths.add(m[1]);
    // linux-vdso.so.1 (0x...) and similar virtual objects have no file.
  }
  return { paths: [...paths].sort(), missing, static: isStatic };
}
