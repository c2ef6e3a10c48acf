/**
 * The in-cluster server killed with kill -9 (server, ganesha, bus: everything in its mount
 * namespace, as a container dies) at seeded random moments of a burst of claim creations,
 * deletions and edits, and restarted on the same data directory each time, as the kubelet
 * restarts a container (the new command, under the same pod name, takes the Lease over at once).
 *
 * Each kill is aimed at one kind of change: it waits until the journal shows a note of that
 * kind (create, remove, grow), then a seeded delay, so kills land inside those operations at
 * varying steps; one more, if the seed says so, lands at a seeded moment after the server
 * started working again; and one restart is itself killed at a seeded moment of its start-up
 * recovery. What was in flight is read from the journal the kill froze, and printed.
 *
 * After the burst settles, the server's whole state is compared with the claims
 * (volume-audit.ts): every live claim Bound to exactly its own PV, with one image, one
 * mount, one loop device, one export file and one export ganesha serves, at the size it
 * asked for; nothing left of a deleted claim; no other volume, loop device or export; journal
 * and staging empty. Data written through NFS before the kills reads back intact.
 *
 * The seed is printed; E2E_SEED=<seed> replays the same choices.
 */
import * as fs from 'fs';
import * as path from 'path';
import { imageRequestForClaim, imageSizeFor } from '../../../src/runtime/nfs-server/sizes';
import type { JournalNote, VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';
import { NfsSession } from '../../runtime/nfs-server/server-lab';
import { burstSeed, eventually, KubeObject, paths, SEED_ENV, SeededRandom, sleep, waitForClaimBound } from '../support';
import { ServerEnv, untilOk } from './server-env';
import { auditProblems, auditVolumes, loopDevicesUnder } from './volume-audit';

const MIB = 1024 * 1024;
const env = new ServerEnv({ name: 'nfs-server-burst' });
let className: string;
const seed = burstSeed();
const random = new SeededRandom(seed);

type KillKind = 'create' | 'remove' | 'grow' | 'any';

interface BurstClaim {
  readonly name: string;
  uid?: string;
  /** The request now (edits raise it). */
  requestMi: number;
  deleted: boolean;
  /** Bytes written through NFS before the kills, to read back after them. */
  dataBytes?: number;
}

const claims = new Map<string, BurstClaim>();
let created = 0;

beforeAll(async () => {
  await env.setUp();
  className = await env.addClass('delete', { onDelete: 'DELETE' });
}, 300_000);

afterAll(() => env.tearDown(), 120_000);

function claimPath(name?: string): string {
  return paths.pvc(env.namespace, name);
}

async function createClaim(requestMi: number, prefix = 'b'): Promise<BurstClaim> {
  const claim: BurstClaim = { name: `${prefix}-${String(created++).padStart(2, '0')}`, requestMi, deleted: false };
  claims.set(claim.name, claim);
  const made = await env.kube.create(claimPath(), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim.name },
    spec: { storageClassName: className, accessModes: ['ReadWriteMany'], resources: { requests: { storage: `${requestMi}Mi` } } },
  });
  claim.uid = (made as KubeObject).metadata.uid;
  return claim;
}

async function deleteClaim(claim: BurstClaim): Promise<void> {
  claim.deleted = true;
  await env.kube.delete(claimPath(claim.name));
}

async function growClaim(claim: BurstClaim, requestMi: number): Promise<void> {
  claim.requestMi = requestMi;
  await env.kube.patch(claimPath(claim.name), { spec: { resources: { requests: { storage: `${requestMi}Mi` } } } });
}

/** Live claims that are Bound now (deletions and edits take those). */
async function boundClaims(): Promise<BurstClaim[]> {
  const bound = new Set((await env.kube.list(claimPath())).filter((c) => c.status?.phase === 'Bound' && !c.metadata.deletionTimestamp).map((c) => c.metadata.name));
  return [...claims.values()].filter((c) => !c.deleted && bound.has(c.name));
}

async function sessionOf(claim: BurstClaim): Promise<NfsSession> {
  const pv = (await env.kube.get(paths.pv(`pvc-${claim.uid}`)))!;
  return env.lab.session(pv.spec.nfs.path, pv.spec.nfs.server);
}

/** The journal's notes by volume name (read after a kill: what it cut short). */
function journal(): Map<string, JournalNote> {
  const dir = path.join(env.lab.dataDir, 'journal');
  const notes = new Map<string, JournalNote>();
  for (const name of fs.readdirSync(dir)) {
    try {
      notes.set(name.replace(/\.json$/, ''), JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')));
    } catch { /* renamed away meanwhile (only while the server runs) */ }
  }
  return notes;
}

/** How far the change of `note` on `pv` had got when the kill froze the data dir. */
function stepOf(pv: string, note: JournalNote): string {
  const layout = env.layout;
  const has = (p: string) => fs.existsSync(p);
  const record = has(layout.record(pv)) ? JSON.parse(fs.readFileSync(layout.record(pv), 'utf8')) as VolumeRecord : undefined;
  switch (note.op) {
    case 'create':
      if (has(layout.exportFile(pv))) return 'export file written; adding the export or clearing the note';
      if (record) return 'recorded';
      if (has(layout.image(pv))) return 'image made; formatting or mounting';
      return has(layout.volumeDir(pv)) ? 'folder made' : 'note written';
    case 'remove':
      if (has(layout.exportFile(pv))) return 'unexporting';
      if (has(layout.mountpoint(pv))) return 'export gone; unmounting';
      if (has(layout.image(pv))) return 'unmounted; deleting the image';
      return has(layout.volumeDir(pv)) ? 'image deleted' : 'everything gone but the note';
    case 'grow': {
      const image = has(layout.image(pv)) ? fs.statSync(layout.image(pv)).size : 0;
      if (image < note.sizeBytes) return `image ${image / MIB} MiB, not yet grown to ${note.sizeBytes / MIB}`;
      return record?.sizeBytes === note.sizeBytes ? 'recorded; clearing the note' : 'image grown; loop device, xfs_growfs or record';
    }
  }
}

/** Resolves once the journal holds a note of `op` (polled every 2 ms), or after `timeoutMs` with false. */
async function noteAppears(op: JournalNote['op'], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ([...journal().values()].some((n) => n.op === op)) return true;
    await sleep(2);
  }
  return false;
}

/** Most claims a run makes (images are sparse, but each still takes ~65 MiB of XFS log). */
const MAX_CLAIMS = 20;

/**
 * One batch of the burst and the kill aimed into it, every number drawn up front and in
 * the same order whatever the timing, so a seed replays the same choices. Which Bound
 * claims are deleted or edited is an index into the Bound ones (by name) when the batch starts.
 */
interface BatchPlan {
  readonly kind: KillKind;
  readonly deletions: number[];
  readonly edits: Array<{ readonly index: number; readonly addMi: number }>;
  readonly creations: Array<{ readonly requestMi: number; readonly deleteAfterMs?: number }>;
  /** Milliseconds after each step (deletions, edits, creations, in the drawn order). */
  readonly order: number[];
  readonly gapsMs: number[];
  /** After the first note of its kind ('any': after the batch starts). */
  readonly killDelayMs: number;
}

function planBatch(kind: KillKind): BatchPlan {
  const deletions = Array.from({ length: kind === 'remove' ? random.int(1, 2) : random.int(0, 1) }, () => random.int(0, 1_000));
  // Every edit ends at 300Mi or more, past the 236Mi the smallest (300 MiB) image holds: the image grows.
  const edits = Array.from({ length: kind === 'grow' ? random.int(1, 2) : (random.chance(0.3) ? 1 : 0) }, () => ({ index: random.int(0, 1_000), addMi: random.pick([200, 300]) }));
  const creations = Array.from({ length: kind === 'create' ? random.int(3, 5) : random.int(1, 3) }, () => ({
    requestMi: random.pick([100, 200, 300]),
    // Some are deleted while they (and others) are being made.
    deleteAfterMs: random.chance(0.25) ? random.int(0, 400) : undefined,
  }));
  const steps = deletions.length + edits.length + creations.length;
  return {
    kind,
    deletions,
    edits,
    creations,
    order: random.shuffle(Array.from({ length: steps }, (_, i) => i)),
    gapsMs: Array.from({ length: steps }, () => random.int(0, 250)),
    killDelayMs: kind === 'any' ? random.int(0, 1500) : random.int(0, kind === 'create' ? 180 : 60),
  };
}

/** Issues a batch while the server works: deletions and edits of Bound claims, creations (some deleted at once). */
async function runBatch(plan: BatchPlan): Promise<void> {
  const work: Array<Promise<unknown>> = [];
  const bound = (await boundClaims()).sort((a, b) => a.name.localeCompare(b.name));
  const deletable = bound.filter((c) => c.dataBytes === undefined);
  const deletions = [...new Set(plan.deletions.map((i) => deletable[i % deletable.length]).filter((c) => c))];
  const editable = bound.filter((c) => !deletions.includes(c));
  const edits = new Map(plan.edits.map((e) => [editable[e.index % editable.length], e.addMi] as const).filter(([c]) => c));
  const room = Math.max(0, MAX_CLAIMS - claims.size);
  const steps: Array<() => Promise<void>> = [
    ...deletions.map((c) => () => deleteClaim(c)),
    ...[...edits].map(([c, addMi]) => () => growClaim(c, c.requestMi + addMi)),
    ...plan.creations.slice(0, room).map((spec) => async () => {
      const claim = await createClaim(spec.requestMi);
      if (spec.deleteAfterMs !== undefined) work.push(sleep(spec.deleteAfterMs).then(() => deleteClaim(claim)));
    }),
  ];
  const order = plan.order.filter((n) => n < steps.length);
  for (const [i, n] of order.entries()) {
    work.push(steps[n]());
    await sleep(plan.gapsMs[i]);
  }
  await Promise.all(work);
}

/** The burst's name of the claim of volume `pv`. */
function nameOf(pv: string): string {
  return [...claims.values()].find((c) => `pvc-${c.uid}` === pv)?.name ?? pv;
}

/**
 * Waits until the killed server's loop devices are released (the kernel tears its mount
 * namespace down just after its last process exits), as the kubelet restarts a container
 * only after the old one is gone; returns how long that took, in ms.
 */
async function loopsReleased(): Promise<number> {
  const since = Date.now();
  await eventually('the killed server\'s loop devices to be released', async () => loopDevicesUnder(env.lab.dataDir).length === 0, { intervalMs: 50 });
  return Date.now() - since;
}

/** kill -9 at the seeded moment for `kind`; returns what was in flight. */
async function killDuring(plan: BatchPlan, batchStarted: number): Promise<string> {
  const { kind } = plan;
  if (kind !== 'any' && !await noteAppears(kind, 20_000)) process.stdout.write(`[e2e] no ${kind} note within 20 s: killing anyway\n`);
  await sleep(plan.killDelayMs);
  const at = Date.now() - batchStarted;
  await env.killAll();
  const inFlight = [...journal()].map(([pv, note]) => `${note.op} ${nameOf(pv)} (${stepOf(pv, note)})`).sort();
  return `aimed at ${kind}, ${at} ms into its batch: ${inFlight.length ? inFlight.join(', ') : 'no change in flight'}`;
}

test(`kill -9 of the whole server at seeded moments of a burst of creations, deletions and edits (seed ${seed}): every claim ends Bound or gone with exactly its own volume, mount, loop device and export; data intact`, async () => {
  process.stdout.write(`[e2e] crash burst seed ${seed}: ${SEED_ENV}=${seed} replays it\n`);
  const started = Date.now();
  // Other work on the machine may hold loop devices: only those backed by this server's data dir are its.
  const loopsBefore = loopDevicesUnder(env.lab.dataDir);
  const machineLoopsBefore = loopDevicesUnder('/').length;
  expect(loopsBefore).toEqual([]);
  await env.start();

  // Data to survive every kill: claims bound first and written through NFS; and Bound claims for the first deletions.
  const keep = await Promise.all([0, 1, 2].map(() => createClaim(100, 'd')));
  const plain = await Promise.all([0, 1, 2].map(() => createClaim(random.pick([100, 200, 300]))));
  for (const claim of plain) await waitForClaimBound(env.kube, env.namespace, claim.name);
  for (const claim of keep) {
    await waitForClaimBound(env.kube, env.namespace, claim.name);
    const session = await sessionOf(claim);
    claim.dataBytes = random.int(8, 64) * 1024 + random.int(0, 1023);
    expect(await untilOk(session, 'create 0 /keep.bin').then((r) => r.answer)).toMatchObject({ ok: true });
    expect(await session.send(`write 0 0 ${claim.dataBytes}`)).toMatchObject({ ok: true, written: claim.dataBytes });
    session.close();
  }

  const kinds: KillKind[] = [...random.shuffle<KillKind>(['create', 'remove', 'grow']), ...(random.chance(0.5) ? ['any' as const] : [])];
  const plans = kinds.map(planBatch);
  // One restart is itself killed while it recovers (undoing, finishing, remounting what the kill before left).
  const killedInRecovery = random.int(0, plans.length - 1);
  const recoveryKillMs = random.int(0, 400);
  const summaries: string[] = [];
  for (const [i, plan] of plans.entries()) {
    const batchStarted = Date.now();
    const issued = runBatch(plan);
    summaries.push(`kill ${i + 1}: ${await killDuring(plan, batchStarted)}`);
    await issued;
    // The kubelet restarts a container after its old one is gone: its mounts (and their loop devices) with it.
    process.stdout.write(`[e2e] ${summaries[summaries.length - 1]} (loop devices released ${await loopsReleased()} ms after)\n`);
    if (i === killedInRecovery) {
      const notes = journal().size;
      await env.start({ waitWorking: false });
      // Recovery runs right after the bus is up (and before ganesha starts).
      await eventually('the restart to start its bus', async () => env.log(Infinity).includes('started dbus-daemon'), { intervalMs: 5 });
      await sleep(recoveryKillMs);
      await env.killAll();
      const left = [...journal()].map(([pv, note]) => `${note.op} ${nameOf(pv)} (${stepOf(pv, note)})`).sort();
      const log = env.log(Infinity);
      const stepsDone = (log.match(/"msg":"recovery: /g) ?? []).length;
      const phase = log.includes('"serving"') ? 'recovered, serving' : log.includes('started ganesha.nfsd') ? 'recovered, ganesha starting' : `recovering, ${stepsDone} steps done`;
      summaries.push(`kill ${i + 1}b: ${recoveryKillMs} ms after the restart's bus was up (${phase}; ${notes} notes before): ${left.length ? `${left.join(', ')} left` : 'no note left'}`);
      process.stdout.write(`[e2e] ${summaries[summaries.length - 1]} (loop devices released ${await loopsReleased()} ms after)\n`);
    }
    const restarted = Date.now();
    await env.start();
    // The new command takes the dead one's Lease over at once (the same pod name), as after a real container crash.
    process.stdout.write(`[e2e] restarted: leading and working ${((Date.now() - restarted) / 1000).toFixed(1)} s after its start\n`);
  }

  const live = () => [...claims.values()].filter((c) => !c.deleted);
  const deletedUids = [...claims.values()].filter((c) => c.deleted).map((c) => c.uid!);
  let problems: string[] = ['never checked'];
  await eventually('the burst to settle', async () => {
    const [pvcs, pvs] = await Promise.all([env.kube.list(claimPath()), env.kube.list(paths.pv())]);
    const state = await auditVolumes(env.lab.dataDir, env.pid, path.join(env.lab.configDir, 'bus'));
    problems = auditProblems(state, live().map((c) => {
      const pvc = pvcs.find((p) => p.metadata.name === c.name);
      return {
        name: c.name,
        uid: c.uid!,
        phase: pvc?.status?.phase,
        volumeName: pvc?.spec?.volumeName,
        minImageBytes: imageSizeFor(imageRequestForClaim(c.requestMi * MIB)),
        expectedSize: `${c.requestMi}Mi`,
        requested: pvc?.spec?.resources?.requests?.storage,
        capacity: pvc?.status?.capacity?.storage,
      };
    }), deletedUids, pvs.filter((p) => p.spec?.storageClassName === className).map((p) => ({
      name: p.metadata.name,
      claimUid: p.spec?.claimRef?.uid,
      capacity: p.spec?.capacity?.storage,
    })), env.lab.dataDir);
    return problems.length === 0;
  }, { timeoutMs: 120_000, intervalMs: 1_000 }).catch(() => undefined);
  if (problems.length > 0) process.stderr.write(`[e2e] crash burst: the server's log at the end:\n${env.log(80)}\n`);
  expect(problems).toEqual([]);

  // Every live volume answers through the Service's cluster IP at its size; the data is intact.
  for (const claim of live()) {
    const session = await sessionOf(claim);
    const stat = (await untilOk(session, 'statvfs')).answer;
    expect(stat.blocks * stat.frsize).toBeGreaterThanOrEqual(Math.min(claim.requestMi, 236) * MIB);
    if (claim.dataBytes !== undefined) {
      expect(await untilOk(session, 'open 0 /keep.bin').then((r) => r.answer)).toMatchObject({ ok: true });
      expect(await session.send('fstat 0')).toMatchObject({ ok: true, size: claim.dataBytes });
      expect(await session.send(`read 0 0 ${claim.dataBytes}`)).toEqual({ ok: true, read: claim.dataBytes, differ: 0 });
    }
    session.close();
  }
  process.stdout.write(`[e2e] crash burst seed ${seed}: ${claims.size} claims (${deletedUids.length} deleted, ${live().length} live), ` +
    `${summaries.length} kills in ${((Date.now() - started) / 1000).toFixed(1)} s; loop devices on the machine ${machineLoopsBefore} before, ` +
    `${loopDevicesUnder('/').length} after, ${loopDevicesUnder(env.lab.dataDir).length} of them this server's (its ${live().length} live volumes)\n${summaries.map((s) => `  ${s}`).join('\n')}\n`);
}, 600_000);
