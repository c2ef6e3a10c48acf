/**
 * File handles across a restart when the volumes were made in an order their names do not
 * sort in (real ganesha, loop devices, XFS). ganesha's handles name a filesystem by its device
 * number, so each volume must come back on the loop device it had: attached in the order
 * they were made, they do (recovery.ts, byCreation); attached by name, the two swap devices
 * and both clients' handles go stale.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ServerLab, ServerRun, untilOk } from './server-lab';
import { MIB } from '../../../src/runtime/nfs-server/sizes';

const lab = new ServerLab();
let server: ServerRun;
beforeAll(async () => { lab.start(); server = (await lab.startServer()).run; }, 120_000);
afterAll(() => lab.cleanup(), 60_000);

test('each volume comes back on its own loop device, and every client\'s handle answers', async () => {
  const sessions = [];
  for (const pv of ['pvc-b', 'pvc-a']) {
    await server.request('create', { pv, requestBytes: 300 * MIB, onDelete: 'DELETE' });
    const s = await lab.session(`/${pv}`);
    expect((await untilOk(s, 'create 0 /f')).answer.ok).toBe(true);
    expect((await s.send(`write 0 0 ${pv === 'pvc-a' ? 1000 : 2000}`)).ok).toBe(true);
    sessions.push({ pv, s, st: await s.send('fstat 0') });
  }
  const device = (pv: string) => execFileSync('losetup', ['-j', path.join(lab.dataDir, 'volumes', pv, 'image')]).toString().split(':')[0];
  const before = ['pvc-a', 'pvc-b'].map(device);
  await server.killAll();
  server = (await lab.startServer()).run;
  expect(['pvc-a', 'pvc-b'].map(device)).toEqual(before);
  for (const { pv, s, st } of sessions) {
    expect((await untilOk(s, `reconnect 127.0.0.1 /${pv}`)).answer.ok).toBe(true);
    const h = await untilOk(s, 'fstat 0', 30);
    expect(h.answer).toMatchObject({ ok: true, ino: st.ino, size: st.size });
  }
}, 180_000);
