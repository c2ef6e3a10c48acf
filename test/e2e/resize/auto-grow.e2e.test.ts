/**
 * 3: autoGrow on the real control plane. Data written through NFS (libnfs, the PV's own
 * server and path) pushes a 1Mi claim past its 50% threshold: the controller measures it,
 * raises the request by the 1Mi increment, the resize path grows the claim to 2Mi; more data
 * pushes it past the threshold at the 2Mi max: exactly one Warning, and no more growth.
 */
import { Size } from 'cdk8s';
import { capacityOf, deployResizeApp, ResizeApp, resizeEnv, ResizeEnv, waitBound } from './fixture';
import { PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { applyManifests, eventually, KubeObject, paths, sleep, useNfsDeployment, waitForObject } from '../support';

let env: ResizeEnv;
let app: ResizeApp;
const nfs = useNfsDeployment({
  deploy: async () => {
    env = resizeEnv();
    return (app = await deployResizeApp(env, {
      prefix: 'autogrow',
      classes: { Grow: {} },
      claims: {
        cache: {
          storage: Size.mebibytes(1),
          classId: 'Grow',
          autoGrow: { thresholdPercent: 50, increment: Size.mebibytes(1), max: Size.mebibytes(2) },
        },
      },
    }));
  },
  startController: true,
  ready: () => waitBound(app, ['cache']),
});

/**
 * Writes `bytes` into the volume through NFS at the PV's own path. With NFSv3 one file;
 * libnfs's NFSv4 writes fail above ~3.9 KB, so there it is many small files.
 */
async function writeThroughNfs(pv: KubeObject, name: string, bytes: number): Promise<void> {
  const dir = pv.spec.nfs.path;
  process.stderr.write(`[e2e] writing ${bytes} bytes through NFSv${env.nfs.clientVersion} to ${env.nfs.host}:${dir}\n`);
  if (env.nfs.clientVersion === 3) {
    await env.nfs.writeFile(`${dir}/${name}`, Buffer.alloc(bytes, 'x'));
    return;
  }
  const chunk = 3 * 1024;
  for (let i = 0; i * chunk < bytes; i++) {
    await env.nfs.writeFile(`${dir}/${name}-${i}`, Buffer.alloc(Math.min(chunk, bytes - i * chunk), 'x'));
  }
}

const warnings = async () => (await app.ourEvents('cache')).filter((e) => e.type === 'Warning');

test('3: usage past the threshold grows the claim by the increment, then at max: one Warning, no more growth', async () => {
  const pv = await app.volumeOf('cache');
  expect(pv.spec.nfs.server).toBe(env.nfs.host);

  await writeThroughNfs(pv, 'first', 700 * 1024);
  const grown = await waitForObject(env.kube, paths.pvc(app.claimsNamespace, 'cache'), (c) => capacityOf(c) === '2Mi');
  expect(grown.spec.resources.requests.storage).toBe('2Mi');
  expect((await app.volumeOf('cache')).spec.capacity).toEqual({ storage: '2Mi' });
  const growing = await eventually('an AutoGrowing event', async () => (await app.ourEvents('cache')).find((e) => e.reason === 'AutoGrowing'));
  expect(growing.type).toBe('Normal');
  expect(growing.message).toMatch(/^volume is \d+\.\d% full \(\S+ of 1Mi, threshold 50%\): raising the request from 1Mi to 2Mi \(max 2Mi\); set storage to 2Mi in the app/);
  await eventually('Resizing and VolumeResizeSuccessful', async () => {
    const reasons = (await app.ourEvents('cache')).map((e) => e.reason);
    return reasons.includes('Resizing') && reasons.includes('VolumeResizeSuccessful');
  });
  // At 2Mi the same data is below the threshold: nothing to warn about.
  expect(await warnings()).toEqual([]);

  await writeThroughNfs(pv, 'second', 700 * 1024);
  const warning = await eventually('an AutoGrowMaxReached Warning', async () => (await warnings()).find((e) => e.reason === 'AutoGrowMaxReached'));
  expect(warning.message).toMatch(/^volume is \d+\.\d% full \(\S+ of 2Mi, threshold 50%\) and the request has reached autoGrow.max 2Mi; autoGrow stops here/);

  // Several more usage passes (one a second): still one Warning, still 2Mi.
  await sleep(5000);
  const after = await warnings();
  expect(after.map((e) => e.reason)).toEqual(['AutoGrowMaxReached']);
  expect(after[0].count).toBe(1);
  const claim = await app.claim('cache');
  expect(claim.spec.resources.requests.storage).toBe('2Mi');
  expect(capacityOf(claim)).toBe('2Mi');
  expect(claim.metadata.annotations[PVC_ANNOTATIONS.autoGrowAtMax]).toBe('2Mi');
  expect((await app.ourEvents('cache')).filter((e) => e.reason === 'AutoGrowing')).toHaveLength(1);

  // The measurement itself: on the claim and as a metric.
  const used = Number(claim.metadata.annotations[PVC_ANNOTATIONS.usedBytes]);
  expect(used).toBeGreaterThanOrEqual(1400 * 1024);
  expect(Date.parse(claim.metadata.annotations[PVC_ANNOTATIONS.usedMeasuredAt])).toBeGreaterThan(Date.now() - 120_000);
  const metrics = (await nfs.controller.http('/metrics')).body;
  expect(metrics).toMatch(new RegExp(`cdk8s_storage_volume_used_bytes\\{persistentvolume="${pv.metadata.name}",namespace="${app.claimsNamespace}",persistentvolumeclaim="cache"\\} \\d+`));
});

test('the app still saying 1Mi is refused as a shrink when applied again; saying the grown 2Mi, it applies', async () => {
  // kubectl apply sets every field the app names to the app's value: the old size is a shrink.
  await expect(applyManifests(env.cp, app.manifests)).rejects.toThrow(
    'The PersistentVolumeClaim "cache" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity');
  await applyManifests(env.cp, app.resynth({ cache: Size.mebibytes(2) }));
  const claim = await app.claim('cache');
  expect(claim.spec.resources.requests.storage).toBe('2Mi');
  expect(capacityOf(claim)).toBe('2Mi');
});
