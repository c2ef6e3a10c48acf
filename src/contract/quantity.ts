/**
 * Kubernetes resource quantities (`1.5Gi`, `500M`, `1e3`, `0.5Ki`, `100m` ...), exact to the
 * byte. Numbers are bigint throughout: a float cannot hold `8Ei - 1` or tell `1.1Gi` from
 * its neighbours, and a storage size that is off by one byte makes a resize look pending
 * forever.
 *
 * Grammar (as the Kubernetes API server accepts it):
 *
 *   quantity  ::= sign? number suffix?
 *   number    ::= digits | digits '.' digits? | '.' digits
 *   suffix    ::= binary | decimal | exponent
 *   binary    ::= Ki | Mi | Gi | Ti | Pi | Ei            (powers of 1024)
 *   decimal   ::= n | u | m | k | M | G | T | P | E      (powers of 1000)
 *   exponent  ::= (e | E) sign? digits                   (powers of 10)
 *
 * A value that is not a whole number of bytes (`100m`, `0.1`) is rounded up, away from
 * zero, as Kubernetes does when it reads a quantity as an integer.
 */
import { quote } from '../constructs/common/errors';

/** Thrown for text that is not a quantity, or one this module refuses (negative, too large). */
export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** The largest quantity Kubernetes can serialise: 2^63 - 1. */
export const MAX_QUANTITY_BYTES = 2n ** 63n - 1n;

const BINARY_SUFFIXES: ReadonlyArray<readonly [string, bigint]> = [
  ['Ki', 1n], ['Mi', 2n], ['Gi', 3n], ['Ti', 4n], ['Pi', 5n], ['Ei', 6n],
];
const DECIMAL_SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ['n', -9], ['u', -6], ['m', -3], ['k', 3], ['M', 6], ['G', 9], ['T', 12], ['P', 15], ['E', 18],
];

const QUANTITY_RE = /^([+-])?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?\d+))?$/;

const GRAMMAR_HINT = 'expected a number with an optional suffix, e.g. 1Gi, 500M, 1.5Gi, 1e9 or 100m';

/**
 * Parses a quantity into a whole number of bytes (fractions round up).
 *
 * @throws QuantityError for anything that is not a non-negative quantity up to 2^63 - 1.
 */
export function parseQuantity(text: string): bigint {
  if (typeof text !== 'string') {
    throw new QuantityError(`quantity must be a string, got ${typeof text}`);
  }
  const m = QUANTITY_RE.exec(text);
  if (!m) {
    throw new QuantityError(`${quote(text)} is not a Kubernetes quantity: ${GRAMMAR_HINT}`);
  }
  const [, sign, intPart, fracPart, dotOnlyFrac, binary, decimal, exponent] = m;
  const whole = intPart ?? '';
  const frac = fracPart ?? dotOnlyFrac ?? '';

  // value = mantissa * 10^exp10 * 1024^exp1024
  const mantissa = BigInt(whole + frac || '0');
  let exp10 = -frac.length;
  let exp1024 = 0n;
  if (binary) {
    exp1024 = BINARY_SUFFIXES.find(([s]) => s === binary)![1];
  } else if (decimal) {
    exp10 += DECIMAL_SUFFIXES.find(([s]) => s === decimal)![1];
  } else if (exponent !== undefined) {
    const e = Number(exponent);
    // Only a bounded exponent is worth computing: anything past these bounds is either
    // over the maximum or below one byte, and 10^huge would stall the process.
    if (!Number.isSafeInteger(e) || Math.abs(e) > 1_000) {
      if (mantissa === 0n) return 0n;
      if (sign === '-') negative(text);
      if (e > 0) throw tooLarge(text);
      return 1n;
    }
    exp10 += e;
  }

  if (mantissa === 0n) return 0n;
  if (sign === '-') negative(text);

  const bytes = scale(mantissa, exp10, exp1024);
  if (bytes > MAX_QUANTITY_BYTES) throw tooLarge(text);
  return bytes;
}

/**
 * Bytes of a size written as a JavaScript number and a binary suffix, which is what cdk8s
 * `Size.asString()` prints (`1.5Gi`, `512Ki`, `1.5e-7Pi`, `1e+21Ki`). Exact: the decimal
 * digits are used, not a float product. Fractions of a byte round up.
 *
 * @throws QuantityError for other text, or a size above 2^63 - 1 bytes.
 */
export function sizeStringToBytes(text: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?(Ki|Mi|Gi|Ti|Pi|Ei)$/.exec(text);
  if (!m) throw new QuantityError(`${quote(text)} is not a size such as 1.5Gi`);
  const [, whole, frac = '', exponent = '0', suffix] = m;
  const mantissa = BigInt(whole + frac);
  if (mantissa === 0n) return 0n;
  const exp1024 = BINARY_SUFFIXES.find(([s]) => s === suffix)![1];
  const bytes = scale(mantissa, Number(exponent) - frac.length, exp1024);
  if (bytes > MAX_QUANTITY_BYTES) throw tooLarge(text);
  return bytes;
}

/** True when {@link parseQuantity} accepts the text. */
export function isQuantity(text: string): boolean {
  return quantityOrUndefined(text) !== undefined;
}

/**
 * The bytes of a quantity, or undefined when the text is absent or not a quantity: for
 * fields a user can write anything into, where a bad value means "not set" rather than an
 * error to report (the field's own check reports it).
 */
export function quantityOrUndefined(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  try {
    return parseQuantity(text);
  } catch (e) {
    if (e instanceof QuantityError) return undefined;
    throw e;
  }
}

/**
 * Prints a byte count as the shortest exact quantity. Candidates are the largest binary
 * suffix that divides it exactly (`1536Mi`, never `1.5Gi`: fractions are not printed), the
 * largest decimal suffix that divides it exactly (`500M`) and plain bytes; the shortest wins,
 * binary on a tie (the storage convention). `parseQuantity(formatQuantity(n))` is always `n`.
 *
 * @throws QuantityError for a negative count or one above 2^63 - 1.
 */
export function formatQuantity(bytes: bigint): string {
  if (typeof bytes !== 'bigint') {
    throw new QuantityError(`formatQuantity takes a bigint byte count, got ${typeof bytes}`);
  }
  if (bytes < 0n) throw new QuantityError(`cannot print a negative byte count (${bytes})`);
  if (bytes > MAX_QUANTITY_BYTES) throw new QuantityError(`${bytes} bytes is above the largest quantity (2^63 - 1)`);
  if (bytes === 0n) return '0';
  let best = bytes.toString();
  // Binary last, so it wins a tie.
  for (const candidate of [largestUnit(bytes, DECIMAL_UNITS), largestUnit(bytes, BINARY_UNITS)]) {
    if (candidate !== undefined && candidate.length <= best.length) best = candidate;
  }
  return best;
}

const BINARY_UNITS: ReadonlyArray<readonly [string, bigint]> = BINARY_SUFFIXES.map(([s, p]) => [s, 1024n ** p] as const).reverse();
const DECIMAL_UNITS: ReadonlyArray<readonly [string, bigint]> = DECIMAL_SUFFIXES
  .filter(([, p]) => p > 0).map(([s, p]) => [s, 10n ** BigInt(p)] as const).reverse();

/** `<n><suffix>` for the largest unit (units sorted largest first) that divides bytes, if any. */
function largestUnit(bytes: bigint, units: ReadonlyArray<readonly [string, bigint]>): string | undefined {
  const hit = units.find(([, unit]) => bytes % unit === 0n);
  return hit ? `${bytes / hit[1]}${hit[0]}` : undefined;
}

/** mantissa * 10^exp10 * 1024^exp1024, rounded up to a whole number. mantissa > 0. */
function scale(mantissa: bigint, exp10: number, exp1024: bigint): bigint {
  const numerator = mantissa * 1024n ** exp1024;
  if (exp10 >= 0) {
    // Cheap overflow guard before building a big power of ten.
    if (numerator.toString().length + exp10 > 40) return MAX_QUANTITY_BYTES + 1n;
    return numerator * 10n ** BigInt(exp10);
  }
  const digits = numerator.toString().length;
  if (-exp10 > digits) return 1n; // 0 < value < 1: one byte
  const denominator = 10n ** BigInt(-exp10);
  const quotient = numerator / denominator;
  return numerator % denominator === 0n ? quotient : quotient + 1n;
}

function tooLarge(text: string): QuantityError {
  return new QuantityError(`${quote(text)} is larger than the largest quantity Kubernetes accepts (2^63 - 1 bytes, about 8Ei)`);
}

function negative(text: string): never {
  throw new QuantityError(`${quote(text)} is negative; a size must be zero or more`);
}


/**
 * Compares two quantities exactly, fractions included (`50m` < `0.1` < `1`), where
 * {@link parseQuantity} rounds both up to whole units: -1, 0 or 1 like a sort comparator.
 *
 * @throws QuantityError when either is not a quantity {@link parseQuantity} accepts.
 */
export function compareQuantities(a: string, b: string): number {
  const [x, y] = [exactValue(a), exactValue(b)];
  // Both as integers over the same power of ten.
  const exp = Math.min(x.exp10, y.exp10);
  const left = x.numerator * 10n ** BigInt(x.exp10 - exp);
  const right = y.numerator * 10n ** BigInt(y.exp10 - exp);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** A valid quantity as numerator * 10^exp10, exactly. */
function exactValue(text: string): { numerator: bigint; exp10: number } {
  parseQuantity(text);
  const [, , intPart, fracPart, dotOnlyFrac, binary, decimal, exponent] = QUANTITY_RE.exec(text)!;
  const frac = fracPart ?? dotOnlyFrac ?? '';
  let exp10 = -frac.length;
  let numerator = BigInt((intPart ?? '') + frac || '0');
  if (binary) numerator *= 1024n ** BINARY_SUFFIXES.find(([s]) => s === binary)![1];
  if (decimal) exp10 += DECIMAL_SUFFIXES.find(([s]) => s === decimal)![1];
  // parseQuantity has refused exponents that make the value too large; tiny ones only need to stay tiny.
  if (exponent !== undefined) exp10 += Math.max(Number(exponent), -1_000);
  return { numerator, exp10 };
}
