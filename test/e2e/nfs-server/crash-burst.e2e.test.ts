/**
 * The in-cluster server killed with kill -9 (server, ganesha, bus: everything in its mount
 * namespace, as a container dies) at seeded random moments of a burst of claim creations,
 * deletions and edits, and restarted on the same data directory each time, as the kubelet
 * restarts a container (the new command takes the Lease over when the dead one's expires).
 *
 * Each kill is aimed at one kind of change: it waits until the journal shows a note of that
 * kind (create, remove, grow), then a seeded delay, so kills land inside those operations at
 * varying steps; one more, if the seed says so, lands at a seeded moment after the server
 * started working again. What was in flight is read from the journal the kill froze, and
 * printed.
 *
 * After the burst settles, the server's whole state is compared with the claims
 * (server-state.ts): every live claim Bound to exactly its own PV, with one image, one
 * mount, one loop device, one export file and one export ganesha serves, at the size it
 * asked for; nothing left of a deleted claim; no other volume, loop device or export; journal
 * and staging empty. Data written through NFS before the kills reads back intact.
 *
 * The seed is printed; NFS_SERVER_BURST_SEED=<seed> replays the same choices.
 */
import * as fs from 'fs';
import * as path from 'path';
import { imageRequestForClaim, imageSizeFor } from '../../../src/runtime/nfs-server/sizes';
import type { JournalNote } from '../../../src/runtime/nfs-server/volume-record';
import { NfsSession } from '../../runtime/nfs-server/server-lab';
import { eventually, KubeObject, paths, sleep, waitForClaimBound } from '../support';
import { burstSeed, SEED_ENV, SeededRandom } from './seeded-random';
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

/** The journal, as the kill froze it. */
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

/** Resolves once the journal holds a note of `op` (polled every 2 ms), or after `timeoutMs` with false. */
async function noteAppears(op: JournalNote['op'], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ([...journal().values()].some((n) => n.op === op)) return true;
    await sleep(2);
  }
  return false;
}

/** One batch of the burst, issued while the server works: creations (some deleted at once), deletions, edits. */
async function batch(kind: KillKind): Promise<void> {
  const work: Array<Promise<unknown>> = [];
  const bound = random.shuffle(await boundClaims());
  const deletions = bound.filter((c) => c.dataBytes === undefined).slice(0, kind === 'remove' ? random.int(1, 2) : random.int(0, 1));
  const edits = random.shuffle(bound.filter((c) => !deletions.includes(c))).slice(0, kind === 'grow' ? random.int(1, 2) : (random.chance(0.3) ? 1 : 0));
  const creations = kind === 'create' ? random.int(3, 5) : random.int(1, 3);
  const plan: Array<() => Promise<void>> = [
    ...deletions.map((c) => () => deleteClaim(c)),
    ...edits.map((c) => () => growClaim(c, c.requestMi + random.pick([100, 200]))),
    ...Array.from({ length: creations }, () => async () => {
      const claim = await createClaim(random.pick([100, 200, 300]));
      // Deleted while it (and others) are being made.
      if (random.chance(0.25)) work.push(sleep(random.int(0, 400)).then(() => deleteClaim(claim)));
    }),
  ];
  for (const step of random.shuffle(plan)) {
    work.push(step());
    await sleep(random.int(0, 250));
  }
  await Promise.all(work);
}

/** kill -9 at the seeded moment for `kind`; returns what was in flight. */
async function killDuring(kind: KillKind, batchStarted: number): Promise<string> {
  if (kind === 'any') {
    await sleep(random.int(0, 1500));
  } else {
    const seen = await noteAppears(kind, 20_000);
    await sleep(random.int(0, kind === 'create' ? 180 : 60));
    if (!seen) process.stdout.write(`[e2e] no ${kind} note within 20 s: killing anyway\n`);
  }
  const at = Date.now() - batchStarted;
  await env.killAll();
  const frozen = journal();
  const byName = new Map([...claims.values()].map((c) => [`pvc-${c.uid}`, c.name]));
  const inFlight = [...frozen].map(([pv, note]) => `${note.op} ${byName.get(pv) ?? pv}`).sort();
  return `aimed at ${kind}, ${at} ms into its batch: ${inFlight.length ? inFlight.join(', ') : 'no change in flight'}`;
}

test(`kill -9 of the whole server at seeded moments of a burst of creations, deletions and edits (seed ${seed}): every claim ends Bound or gone with exactly its own volume, mount, loop device and export; data intact`, async () => {
  process.stdout.write(`[e2e] crash burst seed ${seed}: ${SEED_ENV}=${seed} replays it\n`);
  const started = Date.now();
  const loopsBefore = loopDevicesUnder(env.lab.dataDir);
  expect(loopsBefore).toEqual([]);
  await env.start();

  // Data to survive every kill: claims bound first and written through NFS.
  const keep = await Promise.all([0, 1, 2].map(() => createClaim(100, 'd')));
  for (const claim of keep) {
    await waitForClaimBound(env.kube, env.namespace, claim.name);
    const session = await sessionOf(claim);
    claim.dataBytes = random.int(8, 64) * 1024 + random.int(0, 1023);
    expect(await untilOk(session, 'create 0 /keep.bin').then((r) => r.answer)).toMatchObject({ ok: true });
    expect(await session.send(`write 0 0 ${claim.dataBytes}`)).toMatchObject({ ok: true, written: claim.dataBytes });
    session.close();
  }

  const kinds: KillKind[] = [...random.shuffle<KillKind>(['create', 'remove', 'grow']), ...(random.chance(0.5) ? ['any' as const] : [])];
  const summaries: string[] = [];
  for (const [i, kind] of kinds.entries()) {
    const batchStarted = Date.now();
    const issued = batch(kind);
    summaries.push(`kill ${i + 1}: ${await killDuring(kind, batchStarted)}`);
    await issued;
    // The kubelet restarts a container after its old one is gone: its mounts (and their loop devices) with it.
    const teardown = Date.now();
    await eventually('the killed server\'s loop devices to be released', async () => loopDevicesUnder(env.lab.dataDir).length === 0, { intervalMs: 50 });
    process.stdout.write(`[e2e] ${summaries[i]} (loop devices released ${Date.now() - teardown} ms after)\n`);
    await env.start();
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
    `${kinds.length} kills in ${((Date.now() - started) / 1000).toFixed(1)} s\n${summaries.map((s) => `  ${s}`).join('\n')}\n`);
}, 600_000);
