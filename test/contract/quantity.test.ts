import * as fc from 'fast-check';
import { compareQuantities, formatQuantity, isQuantity, MAX_QUANTITY_BYTES, parseQuantity, QuantityError, quantityOrUndefined, sizeStringToBytes } from '../../src/contract/quantity';

describe('parseQuantity', () => {
  test.each([
    ['0', 0n],
    ['1', 1n],
    ['1024', 1024n],
    ['1Ki', 1024n],
    ['1Mi', 1024n ** 2n],
    ['1Gi', 1024n ** 3n],
    ['1Ti', 1024n ** 4n],
    ['1Pi', 1024n ** 5n],
    ['1Ei', 1024n ** 6n],
    ['1.5Gi', 1610612736n],
    ['0.5Ki', 512n],
    ['.5Ki', 512n],
    ['1.Gi', 1073741824n],
    ['+2Mi', 2097152n],
    ['1k', 1000n],
    ['500M', 500_000_000n],
    ['1G', 1_000_000_000n],
    ['1T', 10n ** 12n],
    ['1P', 10n ** 15n],
    ['1E', 10n ** 18n],
    ['1e3', 1000n],
    ['1E3', 1000n],
    ['1e+3', 1000n],
    ['2.5e2', 250n],
    ['15e-1', 2n],
    ['1e0', 1n],
    ['007', 7n],
    ['0.000', 0n],
    ['-0', 0n],
    ['1000m', 1n],
    ['1500m', 2n],
    ['1m', 1n],
    ['1n', 1n],
    ['1u', 1n],
    ['0.1', 1n],
    ['1e-1000000', 1n],
    ['0e1000000', 0n],
    ['9223372036854775807', MAX_QUANTITY_BYTES],
    ['7Ei', 7n * 1024n ** 6n],
  ] as Array<[string, bigint]>)('%s -> %s bytes', (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  test.each([
    '', ' ', '1 Gi', ' 1Gi', '1Gi ', 'Gi', '1gi', '1KI', '1K', '1Ki1', '1.5.5', '--1', '+-1', '1e', '1e1.5',
    '1e+', 'abc', '0x10', '1_000', '١', '1Gi\u0000', 'Infinity', 'NaN', '1,5Gi', '.', '+', '1b', '1B', '1iB',
  ])('rejects %j', (text) => {
    expect(() => parseQuantity(text)).toThrow(QuantityError);
    expect(isQuantity(text)).toBe(false);
  });

  test('rejects negative sizes, naming the value', () => {
    expect(() => parseQuantity('-1Gi')).toThrow(/"-1Gi" is negative/);
    expect(() => parseQuantity('-1e-2000')).toThrow(/negative/);
  });

  test('rejects values above 2^63 - 1 without computing huge powers', () => {
    expect(() => parseQuantity('9223372036854775808')).toThrow(/larger than the largest quantity/);
    expect(() => parseQuantity('1e19')).toThrow(QuantityError);
    expect(() => parseQuantity('1e999999999999')).toThrow(QuantityError);
    expect(() => parseQuantity('99999999999Ei')).toThrow(QuantityError);
    // 8Ei is exactly 2^63: one byte over the maximum.
    expect(() => parseQuantity('8Ei')).toThrow(/larger than the largest quantity/);
  });

  test('the error message names the input and the expected form', () => {
    expect(() => parseQuantity('ten gigs')).toThrow('"ten gigs" is not a Kubernetes quantity: expected a number with an optional suffix');
  });

  test('control characters in the input are escaped in the message', () => {
    try {
      parseQuantity('1\u0000G');
      throw new Error('not thrown');
    } catch (e) {
      expect((e as Error).message).toContain('"1\\u0000G"');
    }
  });

  test('rejects non-strings', () => {
    expect(() => parseQuantity(5 as unknown as string)).toThrow(/must be a string/);
  });
});

describe('formatQuantity', () => {
  test.each([
    [0n, '0'],
    [1n, '1'],
    [999n, '999'],
    [1000n, '1k'],
    [1024n, '1Ki'],
    [1536n, '1536'],
    [1610612736n, '1536Mi'],
    [1024n ** 3n, '1Gi'],
    [500_000_000n, '500M'],
    [2_048_000n, '2048k'],
    [1024n * 1000n, '1024k'],
    [3n * 1024n ** 2n * 1000n, '3000Mi'],
    [10n ** 18n, '1E'],
    [1024n ** 6n, '1Ei'],
    [MAX_QUANTITY_BYTES, '9223372036854775807'],
  ])('%s bytes -> %s', (bytes, text) => {
    expect(formatQuantity(bytes)).toBe(text);
  });

  test('rejects negative and oversized counts', () => {
    expect(() => formatQuantity(-1n)).toThrow(/negative/);
    expect(() => formatQuantity(MAX_QUANTITY_BYTES + 1n)).toThrow(/above the largest quantity/);
    expect(() => formatQuantity(5 as unknown as bigint)).toThrow(/bigint/);
  });
});

describe('sizeStringToBytes', () => {
  test.each([
    ['1Gi', 1024n ** 3n],
    ['1.5Gi', 1610612736n],
    ['0.5Ki', 512n],
    ['1.1Gi', 1181116007n], // 1181116006.4 rounds up
    ['1.5e-7Pi', 168884987n], // 168884986.0263936 rounds up
    ['1e-9Ki', 1n],
    ['0Mi', 0n],
    ['2e+3Mi', 2000n * 1024n ** 2n],
  ] as Array<[string, bigint]>)('%s -> %s bytes', (text, bytes) => {
    expect(sizeStringToBytes(text)).toBe(bytes);
  });

  test.each(['', '1', '1G', '-1Gi', 'NaNGi', 'InfinityGi', '1e3', '1.Gi'])('rejects %j', (text) => {
    expect(() => sizeStringToBytes(text)).toThrow(QuantityError);
  });

  test('rejects sizes above 2^63 - 1 bytes', () => {
    expect(() => sizeStringToBytes('1e+21Ki')).toThrow(/larger than the largest quantity/);
  });

  test('agrees with parseQuantity for plain decimals', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 6 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom('Ki', 'Mi', 'Gi'), (w, f, suffix) => {
      const text = `${w}.${String(f).padStart(3, '0')}${suffix}`;
      return sizeStringToBytes(text) === parseQuantity(text);
    }));
  });
});

describe('properties', () => {
  const bytes = fc.bigInt({ min: 0n, max: MAX_QUANTITY_BYTES });
  const wholeUnits = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 20n }), fc.constantFrom(...['', 'Ki', 'Mi', 'Gi', 'Ti', 'k', 'M', 'G', 'T']));

  test('format then parse is the identity', () => {
    fc.assert(fc.property(bytes, (n) => parseQuantity(formatQuantity(n)) === n), { numRuns: 2000 });
  });

  test('formatting never prints a fraction and is never longer than plain bytes', () => {
    fc.assert(fc.property(bytes, (n) => {
      const text = formatQuantity(n);
      return !text.includes('.') && text.length <= n.toString().length;
    }), { numRuns: 2000 });
  });

  test('sizes built from whole units print no longer than the unit form', () => {
    fc.assert(fc.property(wholeUnits, ([n, suffix]) => formatQuantity(parseQuantity(`${n}${suffix}`)).length <= `${n}${suffix}`.length));
  });

  test('n<suffix> parses to n times the unit', () => {
    const unit: Record<string, bigint> = {
      '': 1n,
      'Ki': 1024n,
      'Mi': 1024n ** 2n,
      'Gi': 1024n ** 3n,
      'Ti': 1024n ** 4n,
      'k': 1000n,
      'M': 1000n ** 2n,
      'G': 1000n ** 3n,
      'T': 1000n ** 4n,
    };
    fc.assert(fc.property(wholeUnits, ([n, suffix]) => parseQuantity(`${n}${suffix}`) === n * unit[suffix]));
  });

  test('a decimal fraction rounds up to the next whole byte', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 1, max: 9 }), (whole, tenths) => {
      // whole.tenths bytes -> whole + 1
      return parseQuantity(`${whole}.${tenths}`) === whole + 1n;
    }));
  });

  test('the exponent form equals the plain form', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.integer({ min: 0, max: 9 }), (n, e) => {
      return parseQuantity(`${n}e${e}`) === n * 10n ** BigInt(e);
    }));
  });

  test('arbitrary strings either parse to a byte count in range or throw QuantityError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (text) => {
      try {
        const n = parseQuantity(text);
        return n >= 0n && n <= MAX_QUANTITY_BYTES;
      } catch (e) {
        return e instanceof QuantityError;
      }
    }), { numRuns: 2000 });
  });
});

test('quantityOrUndefined: bytes of a quantity, undefined for no text or text that is not one', () => {
  expect(quantityOrUndefined('1Gi')).toBe(1024n ** 3n);
  expect(quantityOrUndefined(undefined)).toBeUndefined();
  expect(quantityOrUndefined('1 GB')).toBeUndefined();
  expect(quantityOrUndefined('-1')).toBeUndefined();
});

describe('compareQuantities', () => {
  test.each([
    ['50m', '0.1', -1],
    ['100m', '0.1', 0],
    ['1', '999m', 1],
    ['1Ki', '1024', 0],
    ['1Gi', '1G', 1],
    ['1e3', '1k', 0],
    ['0.5Mi', '512Ki', 0],
    ['1n', '0', 1],
    ['1e-2000', '1n', -1],
    ['64Mi', '256Mi', -1],
  ])('%s against %s is %d', (a, b, expected) => {
    expect(compareQuantities(a, b)).toBe(expected);
    expect(compareQuantities(b, a)).toBe(-expected || 0);
  });

  test('refuses text that is not a quantity', () => {
    expect(() => compareQuantities('1Gb', '1')).toThrow(QuantityError);
  });
});
