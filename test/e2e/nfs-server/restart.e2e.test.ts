/**
 * The in-cluster server survives kill -9 of its whole container on the real control plane:
 * with claims Bound and an NFS client holding file handles, every process in the command's
 * mount namespace (the command, ganesha, the bus) is killed; a claim is made while it is
 * down; the command starts again on the same backing storage, as the kubelet restarts a
 * container in the same pod (same network namespace, new mount namespace).
 *
 * Proof: every export serves again with its own data, byte for byte, and the same filesystem
 * id; the handles held from before the kill answer with no stale-handle error; the claim made
 * while down is Bound to its own new export; no PV is duplicated. The time from the kill to
 * serving again is printed, never asserted.
 */
import * as fs from 'fs';
import { nowMs, ServerEnv, ServerState, untilOk } from './server-env';
import { K8S } from '../../../src/contract/keys';
import { NfsSession } from '../../runtime/nfs-server/server-lab';
import { KubeObject, paths, waitForClaimBound } from '../support';

const MIB = 1024 * 1024;

const env = new ServerEnv({ name: 'nfs-server-restart' });
const { kube, lab } = env;
let storageClass: string;

beforeAll(async () => {
  await env.setUp();
  storageClass = await env.addClass('delete', { onDelete: 'DELETE' });
  await env.start();
}, 300_000);

afterAll(() => env.tearDown(), 120_000);

function claim(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { storageClassName: storageClass, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '300Mi' } } },
  };
}

/** PVs this server's provisioner made, by name. */
async function ourVolumes(): Promise<KubeObject[]> {
  return (await kube.list(paths.pv())).filter((pv) => pv.metadata.annotations?.[K8S.provisionedBy] === env.provisioner);
}

/** A Bound claim's volume, as its client sees it before the kill. */
interface Served {
  readonly claim: string;
  readonly pv: string;
  /** Bytes of the pattern file written through NFS (sizes differ per claim, so swapped exports would show). */
  readonly size: number;
  readonly session: NfsSession;
  ino?: number;
  fsid?: number;
  exportFile?: string;
}

describe('kill -9 of the server\'s container with claims Bound, a claim made while it is down', () => {
  const served: Served[] = [];
  let before: ServerState;
  let downClaimUid: string;
  let killedAt = 0;
  let startedAt = 0;
  let startedWall = 0;
  /** When the claim made while down was seen Bound, watched from the restart on. */
  let downClaimBound: Promise<{ claim: KubeObject; at: number }>;

  test('two claims are Bound, each to its own export, with a file written through NFS', async () => {
    for (const [name, size] of [['alpha', MIB + 17], ['beta', 3 * MIB + 5]] as const) {
      await kube.create(paths.pvc(env.namespace), claim(name));
      const bound = await waitForClaimBound(kube, env.namespace, name);
      const pv = bound.spec.volumeName;
      const session = await lab.session(`/${pv}`, env.clusterIP);
      expect((await untilOk(session, 'create 0 /data.bin')).answer).toMatchObject({ ok: true });
      expect(await session.send(`write 0 0 ${size}`)).toMatchObject({ ok: true, written: size });
      const stat = await session.send('fstat 0');
      expect(stat).toMatchObject({ ok: true, size });
      served.push({ claim: name, pv, size, session, ino: stat.ino, fsid: (await session.send('statvfs')).fsid, exportFile: fs.readFileSync(env.layout.exportFile(pv), 'utf8') });
    }
    expect(served[0].fsid).not.toBe(served[1].fsid);
    before = await env.state();
    const pvs = served.map((s) => s.pv).sort();
    expect(before).toMatchObject({ images: pvs, exportFiles: pvs, mounts: pvs, notes: [] });
    expect(before.loopDevices).toHaveLength(2);
    expect(before.ganeshaExports).toHaveLength(2);
  }, 300_000);

  test('kill -9 of the command, ganesha and the bus: nothing stays mounted or attached; a claim made meanwhile waits', async () => {
    killedAt = nowMs();
    await env.killAll();
    // The mount namespace died with its processes: its mounts went, and autoclear freed the loop devices.
    for (const s of served) expect(await lab.loopDevicesOf(env.layout.image(s.pv))).toBe('');
    const down = await env.state();
    expect(down).toMatchObject({ images: before.images, exportFiles: before.exportFiles, mounts: [], loopDevices: [], notes: [] });

    const created = await kube.create(paths.pvc(env.namespace), claim('made-while-down'));
    downClaimUid = created.metadata.uid;
    expect((await kube.get(paths.pvc(env.namespace, 'made-while-down')))!.status?.phase).toBe('Pending');
    expect(await kube.get(paths.pv(`pvc-${downClaimUid}`))).toBeUndefined();
  }, 120_000);

  test('started again on the same data: every export serves its own data with the same filesystem id; the old handles answer, no ESTALE', async () => {
    const downMs = nowMs() - killedAt;
    startedAt = nowMs();
    startedWall = Date.now();
    await env.start({ waitWorking: false });
    downClaimBound = waitForClaimBound(kube, env.namespace, 'made-while-down', { intervalMs: 100 }).then((c) => ({ claim: c, at: nowMs() }));
    await env.waitForNfsNull();
    const nullAt = nowMs();

    // Each session from before the kill reconnects (as a kernel client does) and uses its old file handle.
    const handleAt: number[] = [];
    const tries: number[] = [];
    for (const s of served) {
      expect((await untilOk(s.session, `reconnect ${env.clusterIP} /${s.pv}`)).answer).toMatchObject({ ok: true });
      const handle = await untilOk(s.session, 'fstat 0');
      handleAt.push(nowMs());
      tries.push(handle.tries);
      if (!handle.answer.ok) throw new Error(`the old handle of ${s.pv} after the restart: ${JSON.stringify(handle.answer)} (${handle.tries} tries)\n${env.log(60)}`);
      expect(handle.answer).toMatchObject({ ok: true, ino: s.ino, size: s.size });
      expect((await s.session.send('statvfs')).fsid).toBe(s.fsid);
      expect(fs.readFileSync(env.layout.exportFile(s.pv), 'utf8')).toBe(s.exportFile);
    }
    // The data, byte for byte against the pattern written: new opens wait for the end of the NFSv4 grace period.
    for (const s of served) {
      const reader = await lab.session(`/${s.pv}`, env.clusterIP);
      expect((await untilOk(reader, 'open 1 /data.bin')).answer).toMatchObject({ ok: true });
      expect(await reader.send(`read 1 0 ${s.size}`)).toMatchObject({ ok: true, read: s.size, differ: 0 });
      reader.close();
    }
    const readAt = nowMs();
    // The claim made while down may have its export by now too (the next test looks at it).
    expect((await env.state()).ganeshaExports).toEqual(expect.arrayContaining(before.ganeshaExports));
    process.stdout.write(`[e2e] restart after kill -9 (down ${(downMs / 1000).toFixed(2)} s while a claim was made): ` +
      `start -> NFS NULL at the cluster IP ${((nullAt - startedAt) / 1000).toFixed(2)} s, -> old handles answered ${handleAt.map((t) => ((t - startedAt) / 1000).toFixed(2)).join(' / ')} s ` +
      `(tries ${tries.join(' / ')}); kill -> NFS NULL ${((nullAt - killedAt) / 1000).toFixed(2)} s, kill -> old handles ${handleAt.map((t) => ((t - killedAt) / 1000).toFixed(2)).join(' / ')} s; ` +
      `start -> data read back through new opens (after the grace period) ${((readAt - startedAt) / 1000).toFixed(2)} s\n`);
  }, 300_000);

  test('the claim made while down is Bound to its own new export; no PV is duplicated', async () => {
    const { claim: bound, at } = await downClaimBound;
    const boundMs = at - startedAt;
    const pvName = `pvc-${downClaimUid}`;
    expect(bound.spec.volumeName).toBe(pvName);
    const pv = (await kube.get(paths.pv(pvName)))!;
    expect(pv.spec.nfs).toEqual({ server: env.clusterIP, path: `/${pvName}` });

    const session = await lab.session(`/${pvName}`, env.clusterIP);
    expect((await untilOk(session, 'create 0 /new.bin')).answer).toMatchObject({ ok: true });
    expect(await session.send('write 0 0 10000')).toMatchObject({ ok: true, written: 10000 });
    expect((await session.send('statvfs')).fsid).not.toBe(served[0].fsid);
    expect((await session.send('statvfs')).fsid).not.toBe(served[1].fsid);
    session.close();

    // One PV per claim, each claim's own.
    const volumes = await ourVolumes();
    expect(volumes.map((v) => v.metadata.name).sort()).toEqual([...served.map((s) => s.pv), pvName].sort());
    expect(volumes.map((v) => `${v.spec.claimRef.namespace}/${v.spec.claimRef.name}`).sort())
      .toEqual(['alpha', 'beta', 'made-while-down'].map((n) => `${env.namespace}/${n}`));
    const state = await env.state();
    const pvs = [...served.map((s) => s.pv), pvName].sort();
    expect(state).toMatchObject({ images: pvs, exportFiles: pvs, mounts: pvs, notes: [] });
    expect(state.loopDevices).toHaveLength(3);
    expect(state.ganeshaExports).toHaveLength(3);
    expect(state.ganeshaExports).toEqual(expect.arrayContaining(before.ganeshaExports));
    const times = env.logTimes(['serving', 'standing by: another instance holds the Lease', 'became leader', 'caches synced; working', 'provisioned']);
    const since = (logged?: number) => (logged === undefined ? '-' : `${((logged - startedWall) / 1000).toFixed(2)} s`);
    process.stdout.write(`[e2e] claim made while the server was down: Bound ${(boundMs / 1000).toFixed(2)} s after the command started again; from the start (its log): ` +
      `first line ${since(times.first)}, serving ${since(times.serving)}, standing by for the killed run's Lease ${since(times['standing by: another instance holds the Lease'])}, ` +
      `leader ${since(times['became leader'])}, caches synced ${since(times['caches synced; working'])}, provisioned ${since(times.provisioned)}\n`);
  }, 300_000);
});
