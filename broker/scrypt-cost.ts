/** The most one hash check may take: 128·N·r bytes of memory (RFC 7914 §2), twice this project's N=16384, r=8. */
export const MAX_SCRYPT_MEMORY = 32 * 1024 * 1024;
export const MAX_SCRYPT_P = 2;

/** Why a hash costs more than a check may (memory, time), or undefined when it is within bounds. */
export function scryptCostProblem(hash: string): string | undefined {
  const [tag, n, r, p, , key] = hash.split('$');
  if (tag !== 'scrypt' || !key) return 'not a scrypt$N$r$p$salt$hash string';
  const N = Number(n);
  const R = Number(r);
  const P_ = Number(p);
  // RFC 7914 §2: N a power of two above 1
  if (!Number.isSafeInteger(N) || N < 2 || !Number.isInteger(Math.log2(N))) return `N=${n} is not a power of two`;
  if (!Number.isSafeInteger(R) || R < 1) return `r=${r} is not a positive integer`;
  if (!Number.isSafeInteger(P_) || P_ < 1 || P_ > MAX_SCRYPT_P) return `p=${p} is not 1..${MAX_SCRYPT_P}`;
  const memory = 128 * N * R;
  if (memory > MAX_SCRYPT_MEMORY) return `N=${N}, r=${R} needs ${memory / 1048576} MiB per check, over the ${MAX_SCRYPT_MEMORY / 1048576} MiB allowed`;
  return undefined;
}
