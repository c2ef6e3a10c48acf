import { bound } from './resize-fixtures';
import { PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { approximate, decideAutoGrow, readPolicy } from '../../../src/runtime/nfs/auto-grow';
import { usageAnnotationPatch } from '../../../src/runtime/nfs/usage-report';

const MI = 1024n * 1024n;
const GI = 1024n * MI;

const policy = (threshold = '80', increment = '1Gi', max = '3Gi') => ({
  [PVC_ANNOTATIONS.autoGrowThresholdPercent]: threshold,
  [PVC_ANNOTATIONS.autoGrowIncrement]: increment,
  [PVC_ANNOTATIONS.autoGrowMax]: max,
});

describe('readPolicy', () => {
  test('no annotations: no policy', () => {
    expect(readPolicy(bound().claim)).toEqual({ ok: true });
  });

  test('the annotations ResizableClaim writes', () => {
    expect(readPolicy(bound({ annotations: policy('80', '5Gi', '50Gi') }).claim)).toEqual({
      ok: true,
      policy: { thresholdPercent: 80, increment: 5n * GI, max: 50n * GI },
    });
  });

  test.each([
    [policy('0'), 'auto-grow-threshold-percent is "0"'],
    [policy('100'), 'auto-grow-threshold-percent is "100"'],
    [policy('80.5'), 'auto-grow-threshold-percent is "80.5"'],
    [policy('80', '0'), 'auto-grow-increment is "0"'],
    [policy('80', 'lots'), 'auto-grow-increment is "lots"'],
    [policy('80', '1Gi', '-1Gi'), 'auto-grow-max is "-1Gi"'],
    [{ [PVC_ANNOTATIONS.autoGrowMax]: '3Gi' }, 'auto-grow-threshold-percent is null'],
  ])('%j is reported, naming the bad annotation', (annotations, expected) => {
    const result = readPolicy(bound({ annotations }).claim);
    expect(result).toEqual({ ok: false, message: expect.stringContaining(expected) });
    expect(!result.ok && result.message).toMatch(/^autoGrow is off for this claim: /);
  });
});

describe('decideAutoGrow', () => {
  const claimWith = (options: Parameters<typeof bound>[0] = {}) => bound({ annotations: policy(), ...options }).claim;

  test('below the threshold: nothing', () => {
    expect(decideAutoGrow({ claim: claimWith(), used: (GI * 79n) / 100n })).toEqual({ action: 'none', reason: 'below the threshold' });
  });

  test('at the threshold: grow by the increment, with a message saying why', () => {
    const decision = decideAutoGrow({ claim: claimWith(), used: (GI * 80n) / 100n + 1n });
    expect(decision).toEqual({
      action: 'grow',
      from: GI,
      to: 2n * GI,
      patch: { spec: { resources: { requests: { storage: '2Gi' } } } },
      message: 'volume is 80.0% full (819.2Mi of 1Gi, threshold 80%): raising the request from 1Gi to 2Gi (max 3Gi); '
        + 'set storage to 2Gi in the app that applies this claim, or its next apply is refused as a shrink',
    });
  });

  test('the step is capped at the max', () => {
    const claim = claimWith({ annotations: policy('50', '2Gi', '5Gi'), capacity: '4Gi' });
    expect(decideAutoGrow({ claim, used: 3n * GI })).toMatchObject({ action: 'grow', to: 5n * GI });
  });

  test('the class maximum caps it too', () => {
    const claim = claimWith({ annotations: policy('50', '2Gi', '10Gi'), capacity: '2Gi' });
    expect(decideAutoGrow({ claim, used: 2n * GI, classMax: 3n * GI })).toMatchObject({ action: 'grow', to: 3n * GI });
  });

  test('at the max: the marker and one Warning, naming the max', () => {
    const claim = claimWith({ capacity: '3Gi' });
    expect(decideAutoGrow({ claim, used: 3n * GI })).toEqual({
      action: 'at-max',
      patch: { metadata: { annotations: { [PVC_ANNOTATIONS.autoGrowAtMax]: '3Gi' } } },
      message: 'volume is 100.0% full (3Gi of 3Gi, threshold 80%) and the request has reached autoGrow.max 3Gi; autoGrow stops here: free space, or raise the max',
    });
  });

  test('at the max with the marker set: silence', () => {
    const claim = claimWith({ capacity: '3Gi', annotations: { ...policy(), [PVC_ANNOTATIONS.autoGrowAtMax]: '3Gi' } });
    expect(decideAutoGrow({ claim, used: 3n * GI })).toEqual({ action: 'none', reason: 'already warned at this max' });
  });

  test('a raised max (marker for the old one): grows again, and warns again at the new max', () => {
    const annotations = { ...policy('80', '1Gi', '4Gi'), [PVC_ANNOTATIONS.autoGrowAtMax]: '3Gi' };
    expect(decideAutoGrow({ claim: claimWith({ capacity: '3Gi', annotations }), used: 3n * GI })).toMatchObject({ action: 'grow', to: 4n * GI });
    expect(decideAutoGrow({ claim: claimWith({ capacity: '4Gi', annotations }), used: 4n * GI })).toMatchObject({
      action: 'at-max', patch: { metadata: { annotations: { [PVC_ANNOTATIONS.autoGrowAtMax]: '4Gi' } } },
    });
  });

  test('at the class maximum below the policy max: the warning names the class', () => {
    const claim = claimWith({ annotations: policy('50', '1Gi', '10Gi'), capacity: '2Gi' });
    expect(decideAutoGrow({ claim, used: 2n * GI, classMax: 2n * GI })).toMatchObject({
      action: 'at-max', message: expect.stringContaining('the class\'s maxVolumeSize 2Gi'),
    });
  });

  test('while a resize is under way (or stuck), one step at a time: nothing', () => {
    expect(decideAutoGrow({ claim: claimWith({ request: '2Gi', capacity: '1Gi' }), used: GI })).toEqual({ action: 'none', reason: 'a resize is under way or stuck' });
    expect(decideAutoGrow({ claim: claimWith({ resizeStatus: 'ControllerResizeInfeasible' }), used: GI })).toMatchObject({ action: 'none' });
  });

  test('no policy, a broken policy, an unbound claim', () => {
    expect(decideAutoGrow({ claim: bound().claim, used: GI })).toEqual({ action: 'none', reason: 'no autoGrow policy' });
    expect(decideAutoGrow({ claim: claimWith({ annotations: policy('x') }), used: GI })).toMatchObject({ action: 'invalid' });
    const pending = claimWith();
    pending.status!.phase = 'Pending';
    expect(decideAutoGrow({ claim: pending, used: GI })).toEqual({ action: 'none', reason: 'claim is not bound' });
  });

  test('small sizes: 1Mi with a 1Mi step to 2Mi', () => {
    const claim = claimWith({ annotations: policy('50', '1Mi', '2Mi'), capacity: '1Mi' });
    expect(decideAutoGrow({ claim, used: 600n * 1024n })).toMatchObject({ action: 'grow', from: MI, to: 2n * MI });
  });
});

test('approximate: one decimal in the largest unit, rounded down', () => {
  expect(approximate(0n)).toBe('0');
  expect(approximate(1023n)).toBe('1023');
  expect(approximate(1024n)).toBe('1Ki');
  expect(approximate(1536n * 1024n)).toBe('1.5Mi');
  expect(approximate(GI - 1n)).toBe('1023.9Mi');
  expect(approximate(3n * GI)).toBe('3Gi');
});

describe('usageAnnotationPatch', () => {
  const at = new Date('2030-01-02T03:04:05.678Z');
  const annotated = (used: string, when = '2030-01-02T03:00:00Z') => bound({
    annotations: {
      [PVC_ANNOTATIONS.usedBytes]: used, [PVC_ANNOTATIONS.usedMeasuredAt]: when,
    },
  }).claim;

  test('first measurement: bytes as a plain integer and the time in RFC 3339 seconds', () => {
    expect(usageAnnotationPatch(bound().claim, 12345n, at, GI)).toEqual({
      metadata: { annotations: { [PVC_ANNOTATIONS.usedBytes]: '12345', [PVC_ANNOTATIONS.usedMeasuredAt]: '2030-01-02T03:04:05Z' } },
    });
  });

  test('a change below 1% of the capacity is not written; 1% is', () => {
    const onePercent = GI / 100n + 1n;
    expect(usageAnnotationPatch(annotated('1000000'), 1000000n + onePercent - 2n, at, GI)).toBeUndefined();
    expect(usageAnnotationPatch(annotated('1000000'), 1000000n + onePercent, at, GI)).toBeDefined();
    expect(usageAnnotationPatch(annotated('1000000'), 1000000n - onePercent, at, GI)).toBeDefined();
  });

  test('an unchanged value is not written, unless the last write is older than the refresh interval', () => {
    expect(usageAnnotationPatch(annotated('500'), 500n, at, GI)).toBeUndefined();
    expect(usageAnnotationPatch(annotated('500', '2030-01-02T01:00:00Z'), 500n, at, GI)).toBeDefined();
    expect(usageAnnotationPatch(annotated('500', '2030-01-02T03:04:00Z'), 500n, at, GI, { refreshMs: 1000 })).toBeDefined();
  });

  test('garbage in the annotations is replaced', () => {
    expect(usageAnnotationPatch(annotated('12 MB'), 5n, at, GI)).toBeDefined();
    expect(usageAnnotationPatch(annotated('5', 'yesterday'), 5n, at, GI)).toBeDefined();
  });

  test('a configurable threshold', () => {
    expect(usageAnnotationPatch(annotated('0'), GI / 10n, at, GI, { minChangePercent: 20 })).toBeUndefined();
    expect(usageAnnotationPatch(annotated('0'), GI / 4n, at, GI, { minChangePercent: 20 })).toBeDefined();
  });
});
