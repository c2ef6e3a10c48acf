/**
 * The random choices of the crash bursts (which claims, when they are deleted or edited,
 * when the controller or server is killed) from one seed, so a failing run can be replayed
 * exactly: the seed is printed with the environment variable that replays it.
 */

/** The environment variable that replays a run: `E2E_SEED=<seed>`. */
export const SEED_ENV = 'E2E_SEED';

/**
 * The seed from {@link SEED_ENV}, else a new one.
 *
 * @throws Error when the variable is set to something that is not a positive integer.
 */
export function burstSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const given = env[SEED_ENV];
  if (given === undefined || given === '') return 1 + Math.floor(Math.random() * 2_000_000_000);
  if (!/^[1-9][0-9]*$/.test(given) || Number(given) > 2_147_483_646) {
    throw new Error(`${SEED_ENV}=${JSON.stringify(given)} is not a seed: use a whole number from 1 to 2147483646 (the seed a run printed)`);
  }
  return Number(given);
}

/** A seeded stream of choices (Park-Miller: small and good enough to pick test timings). */
export class SeededRandom {
  private state: number;

  constructor(public readonly seed: number) {
    this.state = (Math.abs(Math.floor(seed)) % 2147483646) + 1;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state * 48271) % 2147483647;
    return (this.state - 1) / 2147483646;
  }

  /** A whole number in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
