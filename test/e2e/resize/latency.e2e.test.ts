/**
 * How long a user waits: the time from an edit of a claim's request to the new
 * `status.capacity`, over 20 resizes in a row (1Gi -> 2Gi -> ... -> 21Gi). The figures are
 * printed, not asserted: they depend on the machine. The clock runs from just before the
 * PATCH is sent until a GET (polled every 10 ms) shows the new capacity.
 */
import { Size } from 'cdk8s';
import { capacityOf, deployResizeApp, ResizeApp, resizeConditions, resizeEnv, waitBound } from './fixture';
import { eventually, paths, useNfsDeployment } from '../support';

const RESIZES = 20;

let app: ResizeApp;
useNfsDeployment({
  deploy: async () => (app = await deployResizeApp(resizeEnv(), {
    prefix: 'latency',
    classes: { Plain: {} },
    claims: { timed: { storage: Size.gibibytes(1), classId: 'Plain' } },
  })),
  startController: true,
  ready: () => waitBound(app, ['timed']),
});

test(`median time from edit to new status.capacity over ${RESIZES} resizes`, async () => {
  const path = paths.pvc(app.claimsNamespace, 'timed');
  const samples: number[] = [];
  for (let i = 0; i < RESIZES; i++) {
    const target = `${i + 2}Gi`;
    const started = performance.now();
    await app.setRequest('timed', target);
    await eventually(`status.capacity ${target}`, async () => capacityOf((await app.env.kube.get(path))!) === target, { intervalMs: 10 });
    samples.push(performance.now() - started);
  }
  const final = (await app.env.kube.get(path))!;
  expect(capacityOf(final)).toBe(`${RESIZES + 1}Gi`);
  expect(resizeConditions(final)).toEqual([]);

  const sorted = [...samples].sort((a, b) => a - b);
  const median = (sorted[RESIZES / 2 - 1] + sorted[RESIZES / 2]) / 2;
  const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
  process.stderr.write(`[e2e] resize latency over ${RESIZES} resizes (edit -> status.capacity): median ${fmt(median)}, `
    + `min ${fmt(sorted[0])}, p90 ${fmt(sorted[Math.ceil(RESIZES * 0.9) - 1])}, max ${fmt(sorted[RESIZES - 1])}\n`
    + `[e2e]   samples: ${samples.map((s) => s.toFixed(0)).join(', ')} ms\n`);
  expect(samples).toHaveLength(RESIZES);
});
