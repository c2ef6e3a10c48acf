/** The server's usage meter: statvfs per volume, every value complete, failures named. */
import { promises as fsp } from 'fs';
import * as os from 'os';
import { StatvfsMeter } from '../../../src/runtime/nfs-server/statvfs-meter';

test('measures each volume by statvfs, forgets volumes no longer asked for, names the ones it cannot read', async () => {
  const usage = async (pv: string) => {
    if (pv === 'pvc-gone') throw new Error('ENOENT: no such file or directory, statfs');
    const s = await fsp.statfs(os.tmpdir());
    return { capacityBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, availableBytes: s.bavail * s.bsize };
  };
  const meter = new StatvfsMeter(usage, () => 1_000);
  const result = await meter.pass([{ name: 'pvc-a', relativePath: 'pvc-a' }, { name: 'pvc-gone', relativePath: 'pvc-gone' }]);
  expect(result).toEqual({ complete: ['pvc-a'], partial: [], notReached: [], failed: [{ name: 'pvc-gone', error: 'ENOENT: no such file or directory, statfs' }], seconds: 0 });
  const s = await fsp.statfs(os.tmpdir());
  expect(meter.get('pvc-a')).toMatchObject({ complete: true, measuredAt: new Date(1_000) });
  expect(meter.get('pvc-a')!.bytes).toBeGreaterThan(0n);
  expect(meter.get('pvc-a')!.bytes).toBeLessThanOrEqual(BigInt(s.blocks * s.bsize));

  await meter.pass([]);
  expect(meter.get('pvc-a')).toBeUndefined();
});
