/** Looks a user up in /etc/passwd text: the numeric uid, or null. Pure. */
export function passwdUid(passwd: string, user: string): number | null {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === user && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}
