/**
 * Proves the harness itself: a real API server with RBAC, a live
 * controller-manager (PV binder) and scheduler, and an NFS export reachable
 * through the NFS protocol.
 */
import * as fs from 'fs';
import * as path from 'path';
import { connect, ControlPlane, NfsServer } from './harness';

let cp: ControlPlane;
let nfs: NfsServer;
const ns = `smoke-${Date.now().toString(36)}`;

beforeAll(async () => {
  ({ controlPlane: cp, nfs } = connect());
  await cp.kubectl(['create', 'namespace', ns]);
  // Pods need the namespace's default ServiceAccount (ServiceAccount admission).
  await cp.waitForObject(['serviceaccount', 'default', '-n', ns], (sa) => sa !== undefined);
});

afterAll(async () => {
  await cp?.kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
});

test('the API server answers and reports the pinned version', async () => {
  const r = await cp.kubectl(['version', '-o', 'json']);
  const version = JSON.parse(r.stdout);
  expect(version.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  expect(Number(version.serverVersion.minor)).toBeGreaterThanOrEqual(31);
  const readyz = await cp.kubectl(['get', '--raw', '/readyz']);
  expect(readyz.stdout.trim()).toBe('ok');
});

test('RBAC is enforced for ServiceAccount kubeconfigs', async () => {
  await cp.kubectl(['create', 'serviceaccount', 'pv-reader', '-n', ns]);
  const kubeconfig = await cp.serviceAccountKubeconfig(ns, 'pv-reader');

  const denied = await cp.kubectl(['get', 'persistentvolumes'], { kubeconfig, allowFailure: true });
  expect(denied.code).not.toBe(0);
  expect(denied.stderr).toMatch(/Forbidden|forbidden/);
  expect(denied.stderr).toContain(`system:serviceaccount:${ns}:pv-reader`);

  const role = `${ns}-pv-reader`;
  await cp.applyYaml([
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: role },
      rules: [{ apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: 'pv-reader', namespace: ns }],
    },
  ]);
  try {
    // RBAC changes reach the authorizer through an informer: allow a moment.
    await cp.waitForObject(['persistentvolumes'], (list) => list !== undefined, { kubeconfig });
    const allowed = await cp.kubectl(['get', 'persistentvolumes', '-o', 'name'], { kubeconfig });
    expect(allowed.code).toBe(0);
    // Still nothing beyond the binding.
    const secrets = await cp.kubectl(['get', 'secrets', '-n', ns], { kubeconfig, allowFailure: true });
    expect(secrets.stderr).toMatch(/forbidden/i);
  } finally {
    await cp.kubectl(['delete', 'clusterrolebinding,clusterrole', role, '--ignore-not-found'], { allowFailure: true });
  }
});

test('the controller-manager binds a static PV and PVC', async () => {
  const pv = `${ns}-static`;
  await cp.applyYaml([
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        nfs: { server: nfs.host, path: nfs.exportPath },
        claimRef: { namespace: ns, name: 'static' },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'static', namespace: ns },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: '',
        volumeName: pv,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  ]);
  try {
    const pvc = await cp.waitForObject(['pvc', 'static', '-n', ns], (o: any) => o?.status?.phase === 'Bound');
    expect(pvc.spec.volumeName).toBe(pv);
    const bound = await cp.waitForObject(['pv', pv], (o: any) => o?.status?.phase === 'Bound');
    expect(bound.spec.claimRef.uid).toBe(pvc.metadata.uid);
    // StorageObjectInUseProtection admission added the protection finalizers.
    expect(pvc.metadata.finalizers).toContain('kubernetes.io/pvc-protection');
    expect(bound.metadata.finalizers).toContain('kubernetes.io/pv-protection');
  } finally {
    await cp.kubectl(['delete', 'pvc', 'static', '-n', ns, '--wait=false'], { allowFailure: true });
    await cp.kubectl(['delete', 'pv', pv, '--wait=false'], { allowFailure: true });
  }
});

test('the controller-manager binds a claim to a matching volume by itself', async () => {
  const pv = `${ns}-match`;
  await cp.applyYaml({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pv, labels: { smoke: ns } },
    spec: {
      capacity: { storage: '2Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: '',
      nfs: { server: nfs.host, path: `${nfs.exportPath}/match` },
    },
  });
  await cp.applyYaml({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'match', namespace: ns },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: '',
      selector: { matchLabels: { smoke: ns } },
      resources: { requests: { storage: '1Gi' } },
    },
  });
  try {
    const pvc = await cp.waitForObject(['pvc', 'match', '-n', ns], (o: any) => o?.status?.phase === 'Bound');
    expect(pvc.spec.volumeName).toBe(pv);
    expect(pvc.status.capacity.storage).toBe('2Gi');
  } finally {
    await cp.kubectl(['delete', 'pvc', 'match', '-n', ns, '--wait=false'], { allowFailure: true });
    await cp.kubectl(['delete', 'pv', pv, '--wait=false'], { allowFailure: true });
  }
});

test('the scheduler places a pod on a stand-in node', async () => {
  const node = `${ns}-node`;
  await cp.createNode(node, { 'smoke.cdk8s-storage.dev/node': ns });
  try {
    await cp.applyYaml({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'placed', namespace: ns },
      spec: {
        nodeSelector: { 'smoke.cdk8s-storage.dev/node': ns },
        containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m', memory: '16Mi' } } }],
      },
    });
    const pod = await cp.waitForObject(['pod', 'placed', '-n', ns], (o: any) => Boolean(o?.spec?.nodeName));
    expect(pod.spec.nodeName).toBe(node);
  } finally {
    await cp.kubectl(['delete', 'pod', 'placed', '-n', ns, '--grace-period=0', '--force', '--wait=false'], { allowFailure: true });
    await cp.kubectl(['delete', 'node', node, '--wait=false'], { allowFailure: true });
  }
});

test('a file written through NFS lands in the export root, and back', async () => {
  const dir = `smoke-${ns}`;
  fs.mkdirSync(path.join(nfs.root, dir));

  // NFS -> disk: small file (works with either NFS version) ...
  await nfs.writeFile(`${dir}/from-nfs.txt`, 'written through NFS\n');
  expect(fs.readFileSync(path.join(nfs.root, dir, 'from-nfs.txt'), 'utf8')).toBe('written through NFS\n');
  // ... addressed the way a PV names it (server path) as well.
  await nfs.writeFile(`${nfs.exportPath}/${dir}/pv-style.txt`, 'pv path\n');
  expect(fs.readFileSync(nfs.diskPath(`${nfs.exportPath}/${dir}/pv-style.txt`), 'utf8')).toBe('pv path\n');

  // disk -> NFS.
  fs.writeFileSync(path.join(nfs.root, dir, 'from-disk.txt'), 'written on disk\n');
  expect(await nfs.readFile(`${dir}/from-disk.txt`)).toBe('written on disk\n');
  expect((await nfs.list(dir)).sort()).toEqual(['from-disk.txt', 'from-nfs.txt', 'pv-style.txt']);

  if (nfs.clientVersion === 3) {
    // NFSv3 has no small-write limit in libnfs: a larger payload round-trips.
    const big = Buffer.alloc(256 * 1024, 'cdk8s-storage ');
    await nfs.writeFile(`${dir}/big.bin`, big);
    expect(fs.readFileSync(path.join(nfs.root, dir, 'big.bin')).equals(big)).toBe(true);
    expect((await nfs.readFileBuffer(`${dir}/big.bin`)).equals(big)).toBe(true);
  }
});
