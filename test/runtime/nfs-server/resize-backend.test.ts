/**
 * The in-cluster server's resize backend failing for real: the volume manager (real files,
 * real mount table) is asked to grow a volume it cannot grow, inside the resizer working
 * against the in-memory API. The claim's status must say why, in the words of the error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCommand } from '../../../src/runtime/core/command';
import { ReportedError } from '../../../src/runtime/nfs/controller';
import { NfsResizer, resizeKey } from '../../../src/runtime/nfs/resizer';
import { ServerLayout } from '../../../src/runtime/nfs-server/layout';
import { LoopImageBackend } from '../../../src/runtime/nfs-server/loop-image-backend';
import { MAX_GROW_BYTES, volumeResizeBackend } from '../../../src/runtime/nfs-server/resize-backend';
import { imageRequestForClaim, MIB } from '../../../src/runtime/nfs-server/sizes';
import { VolumeManager } from '../../../src/runtime/nfs-server/volume-manager';
import type { VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { Metrics } from '../../../src/runtime/ops/metrics';
import { bound, classWithMax, PROVISIONER } from '../nfs/resize-fixtures';
import { MemoryApi } from '../support/memory-api';

const GI = 1024 ** 3;
let dataDir: string;
let layout: ServerLayout;
let cluster: MemoryApi;
let warnings: string[];

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resize-backend-'));
  layout = new ServerLayout(dataDir);
  for (const dir of layout.directories) fs.mkdirSync(dir, { recursive: true });
  cluster = new MemoryApi();
  cluster.classes.put(classWithMax());
  warnings = [];
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** The resizer of the nfs-server command, over a real volume manager on `dataDir`. */
function serverResizer(): NfsResizer {
  const volumes = new VolumeManager({ layout, backend: new LoopImageBackend(layout, runCommand, false) });
  return new NfsResizer({
    provisionerName: PROVISIONER,
    claims: cluster.claims.lookup(),
    volumes: cluster.volumes.lookup(),
    classes: cluster.classes.lookup(),
    api: cluster.claimPatcher(),
    events: { emit: (_ref, type, reason, message) => { if (type === 'Warning') warnings.push(`${reason}: ${message}`); } },
    metrics: new Metrics(),
    log: new JsonLogger(() => undefined),
    requeueAfter: () => undefined,
    backend: volumeResizeBackend(volumes),
  });
}

/** A 1Gi claim asking for 3Gi, bound to its PV; returns the PV's name. */
function claimAskingFor3Gi(): string {
  const { claim, pv } = bound({ request: '3Gi', capacity: '1Gi' });
  cluster.claims.put(claim);
  cluster.volumes.put(pv);
  return pv.metadata!.name!;
}

/** A 1Gi volume as the manager records it, its image present but its mount lost. */
function unmountedVolume(pv: string): VolumeRecord {
  const record: VolumeRecord = {
    pv, sizeBytes: imageRequestForClaim(GI), exportId: 1, filesystemId: '1.1', onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777,
  };
  fs.mkdirSync(layout.volumeDir(pv), { recursive: true });
  fs.writeFileSync(layout.record(pv), JSON.stringify(record));
  fs.writeFileSync(layout.image(pv), '');
  fs.truncateSync(layout.image(pv), record.sizeBytes);
  fs.mkdirSync(layout.mountpoint(pv), { recursive: true });
  return record;
}

const claimNow = () => cluster.claims.get('data', 'team-a')!;
const resizeError = () => claimNow().status?.conditions?.find((c) => c.type === 'ControllerResizeError');

function expectUnchangedButMarked(pv: string) {
  const status = claimNow().status!;
  expect(status.capacity).toEqual({ storage: '1Gi' });
  expect(status.allocatedResources).toEqual({ storage: '3Gi' });
  expect(status.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
  expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([['Resizing', 'True'], ['ControllerResizeError', 'True']]);
  expect(cluster.volumes.get(pv)!.spec?.capacity).toEqual({ storage: '1Gi' });
}

test('a volume the server does not have: the claim says so (ControllerResizeError), the PV keeps its size', async () => {
  const pv = claimAskingFor3Gi();
  await expect(serverResizer().handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
  expectUnchangedButMarked(pv);
  const message = `resize volume "${pv}" failed: cannot grow it on the server: volume ${pv} does not exist on this server`;
  expect(resizeError()?.message).toBe(message);
  expect(warnings).toEqual([`VolumeResizeFailed: ${message}`]);
});

test('an image that is no longer loop-mounted: the image file grew, the filesystem could not; the claim says why', async () => {
  const pv = claimAskingFor3Gi();
  const record = unmountedVolume(pv);

  await expect(serverResizer().handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
  expectUnchangedButMarked(pv);
  expect(resizeError()?.message).toBe(
    `resize volume "${pv}" failed: cannot grow it on the server: volume ${pv} is not loop-mounted at ${layout.mountpoint(pv)}`);
  // Part-grown: why the claim stays ControllerResizeInProgress rather than failed for good.
  expect(fs.statSync(layout.image(pv)).size).toBeGreaterThanOrEqual(3 * GI + 64 * MIB);
  // The manager's record still says the old size: the retry grows it again.
  expect(JSON.parse(fs.readFileSync(layout.record(pv), 'utf8')).sizeBytes).toBe(record.sizeBytes);
});

test('a size no image of the server can reach is refused before the volume manager journals a grow', async () => {
  const { claim, pv } = bound({ request: '16Pi', capacity: '1Gi' });
  cluster.claims.put(claim);
  cluster.volumes.put(pv);
  const name = pv.metadata!.name!;
  unmountedVolume(name);
  await expect(serverResizer().handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
  expect(resizeError()?.message).toBe(`resize volume "${name}" failed: cannot grow it on the server: `
    + '16Pi is more than a volume of this server can hold (at most 4Pi): lower spec.resources.requests.storage to 4Pi or less');
  // Nothing journaled and the image untouched: no recovery will try to reach 16Pi.
  expect(fs.readdirSync(layout.journalDir)).toEqual([]);
  expect(fs.statSync(layout.image(name)).size).toBe(imageRequestForClaim(GI));
  // The limit keeps the image's byte count exact in the volume manager's arithmetic.
  expect(Number.isSafeInteger(imageRequestForClaim(Number(MAX_GROW_BYTES)))).toBe(true);
});
