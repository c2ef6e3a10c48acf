import { claim, IDENTITY, PROVISIONER, storageClass, volume } from './fixtures';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import { parseClassParameters, parseMode } from '../../../src/runtime/nfs/class-params';
import { decideDelete, recordedDirectory } from '../../../src/runtime/nfs/delete';
import { DirectoryIndex } from '../../../src/runtime/nfs/directory-index';
import { buildVolume, decideProvision, ProvisionDecision, ProvisionPlan } from '../../../src/runtime/nfs/provision';

function plan(decision: ProvisionDecision): ProvisionPlan {
  if (decision.action !== 'provision') throw new Error(`expected provision, got ${JSON.stringify(decision)}`);
  return decision.plan;
}

describe('decideProvision', () => {
  const sc = storageClass();
  const decide = (c = claim(), s: typeof sc | 'none' = sc, existing?: ReturnType<typeof volume>) =>
    decideProvision({ claim: c, storageClass: s === 'none' ? undefined : s, existingVolume: existing, provisionerName: PROVISIONER });

  test('a pending claim of our class gets a plan with the default directory name', () => {
    const c = claim({ uid: 'u-1', name: 'data', namespace: 'team-a' });
    expect(plan(decide(c))).toEqual({
      pvName: 'pvc-u-1',
      className: 'nfs',
      relativePath: 'team-a-data-pvc-u-1',
      directoryMode: 0o777,
      onDelete: 'ARCHIVE',
      capacity: '1Gi',
    });
  });

  test('the beta provisioner annotation is honoured when the GA one is missing', () => {
    const c = claim({ provisioner: null, annotations: { [K8S.betaStorageProvisioner]: PROVISIONER } });
    expect(decide(c).action).toBe('provision');
  });

  test('the legacy class annotation names the class when spec.storageClassName is unset', () => {
    const c = claim({ annotations: { 'volume.beta.kubernetes.io/storage-class': 'nfs' } });
    delete c.spec!.storageClassName;
    expect(decide(c).action).toBe('provision');
  });

  test.each([
    ['another provisioner', claim({ provisioner: 'other.io/x' }), sc],
    ['no provisioner annotation', claim({ provisioner: null }), sc],
    ['already bound', claim({ spec: { volumeName: 'pv-1' } }), sc],
    ['being deleted', { ...claim(), metadata: { ...claim().metadata, deletionTimestamp: new Date() } }, sc],
    ['a class of another provisioner', claim(), storageClass({ provisioner: 'other.io/x' })],
    ['Bound phase', { ...claim(), status: { phase: 'Bound' } }, sc],
  ])('skips a claim with %s', (_what, c, s) => {
    expect(decide(c, s).action).toBe('skip');
  });

  test('skips when the PV already exists (a crash after creating it)', () => {
    expect(decide(claim({ uid: 'u-2' }), sc, volume('pvc-u-2', 'x', 'DELETE', 'Available'))).toMatchObject({ action: 'skip' });
  });

  test('WaitForFirstConsumer waits for the selected-node annotation', () => {
    const wffc = storageClass({ volumeBindingMode: 'WaitForFirstConsumer' });
    expect(decide(claim(), wffc)).toEqual({ action: 'skip', reason: expect.stringContaining('WaitForFirstConsumer') });
    expect(decide(claim({ annotations: { [K8S.selectedNode]: '' } }), wffc).action).toBe('skip');
    expect(decide(claim({ annotations: { [K8S.selectedNode]: 'node-1' } }), wffc).action).toBe('provision');
  });

  test.each([
    ['a missing class', claim(), 'none' as const, /StorageClass "nfs" does not exist/],
    ['a selector', claim({ spec: { selector: { matchLabels: { a: 'b' } } } }), sc, /spec.selector/],
    ['block mode', claim({ spec: { volumeMode: 'Block' } }), sc, /volumeMode: Block/],
    ['a data source', claim({ spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } } }), sc, /dataSource/],
    ['no size', claim({ spec: { resources: {} } }), sc, /requests.storage/],
    ['a bad class parameter', claim(), storageClass({ parameters: { ondelete: 'delete' } }), /unknown parameter "ondelete"/],
    ['a request above maxVolumeSize', claim(), storageClass({ parameters: { maxVolumeSize: '512Mi' } }), /requests 1Gi, more than .* \(maxVolumeSize 512Mi\)/],
    ['a missing label', claim(), storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.labels.app}' } }), /label "app", which is not set/],
    ['a missing annotation', claim({ labels: { app: 'x' } }), storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.annotations.dir}' } }), /annotation "dir"/],
    ['a pattern two namespaces can share', claim(), storageClass({ parameters: { pathPattern: '${.PVC.namespace}-${.PVC.name}' } }),
      /StorageClass "nfs": pathPattern .* lets claims of two namespaces render one directory/],
    ['a namespace rendering an archive name', claim({ namespace: 'archived-team' }), storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.name}' } }),
      /"archived-team", which starts with "archived-"/],
  ])('fails with an actionable message for %s', (_what, c, s, message) => {
    const d = decide(c as ReturnType<typeof claim>, s);
    expect(d.action).toBe('fail');
    expect(d.action === 'fail' && d.message).toMatch(message);
  });

  test('annotation values that walk up are refused', () => {
    const s = storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.annotations.dir}' } });
    for (const value of ['..', '../../etc', '.', 'a/b']) {
      expect(decide(claim({ annotations: { dir: value } }), s).action).toBe('fail');
    }
  });

  test('class parameters set mode, onDelete (case-insensitive) and pattern', () => {
    const s = storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: 'archive', directoryMode: '2770' } });
    expect(plan(decide(claim({ namespace: 'ns', name: 'db' }), s))).toMatchObject({ relativePath: 'ns/db', onDelete: 'ARCHIVE', directoryMode: 0o2770 });
  });
});

describe('buildVolume', () => {
  test('writes the NFS source, claimRef, capacity and the annotations delete trusts', () => {
    const c = claim({ uid: 'u-9', name: 'db', namespace: 'ns' });
    const s = storageClass({ reclaimPolicy: 'Retain', mountOptions: ['vers=4.1', 'hard'] });
    const p: ProvisionPlan = { pvName: 'pvc-u-9', className: 'nfs', relativePath: 'ns/db', directoryMode: 0o777, onDelete: 'ARCHIVE', capacity: '1Gi' };
    expect(buildVolume(c, s, p, IDENTITY)).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: 'pvc-u-9',
        annotations: {
          [K8S.provisionedBy]: PROVISIONER,
          [PV_ANNOTATIONS.directory]: 'ns/db',
          [PV_ANNOTATIONS.onDelete]: 'ARCHIVE',
        },
      },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'nfs',
        mountOptions: ['vers=4.1', 'hard'],
        volumeMode: 'Filesystem',
        nfs: { server: '10.0.0.5', path: '/exports/k8s/ns/db', readOnly: false },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'ns', name: 'db', uid: 'u-9', resourceVersion: '7' },
      },
    });
  });

  test('an export at "/" gives "/<dir>" and no mount options are written when the class has none', () => {
    const pv = buildVolume(claim(), storageClass(), { pvName: 'p', className: 'nfs', relativePath: 'd', directoryMode: 0o777, onDelete: 'DELETE', capacity: '5Gi' },
      { ...IDENTITY, exportPath: '/' });
    expect(pv.spec?.nfs?.path).toBe('/d');
    expect(pv.spec).not.toHaveProperty('mountOptions');
  });
});

describe('decideDelete', () => {
  test('a Released PV of ours with reclaim Delete is deleted per its recorded policy', () => {
    expect(decideDelete(volume('pvc-1', 'ns/db', 'ARCHIVE'), IDENTITY)).toEqual({ action: 'delete', relativePath: 'ns/db', onDelete: 'ARCHIVE' });
  });

  test.each([
    ['Bound', volume('p', 'd', 'DELETE', 'Bound')],
    ['reclaim Retain', volume('p', 'd', 'DELETE', 'Released', { spec: { ...volume('p', 'd', 'DELETE').spec, persistentVolumeReclaimPolicy: 'Retain' } })],
    ['another provisioner', { ...volume('p', 'd', 'DELETE'), metadata: { name: 'p', annotations: { [K8S.provisionedBy]: 'other.io/x' } } }],
    ['being deleted', { ...volume('p', 'd', 'DELETE'), metadata: { ...volume('p', 'd', 'DELETE').metadata, deletionTimestamp: new Date() } }],
  ])('skips a PV that is %s', (_what, pv) => {
    expect(decideDelete(pv, IDENTITY).action).toBe('skip');
  });

  test.each([
    ['no directory annotation', (pv: ReturnType<typeof volume>) => { delete pv.metadata!.annotations![PV_ANNOTATIONS.directory]; }, /directory is missing/],
    ['a directory that walks up', (pv: ReturnType<typeof volume>) => { pv.metadata!.annotations![PV_ANNOTATIONS.directory] = '../etc'; }, /directory is missing or not a plain relative path/],
    ['an absolute directory', (pv: ReturnType<typeof volume>) => { pv.metadata!.annotations![PV_ANNOTATIONS.directory] = '/etc'; }, /not a plain relative path/],
    ['an unknown onDelete', (pv: ReturnType<typeof volume>) => { pv.metadata!.annotations![PV_ANNOTATIONS.onDelete] = 'SHRED'; }, /on-delete is "SHRED"/],
    ['an edited directory that no longer matches nfs.path', (pv: ReturnType<typeof volume>) => { pv.metadata!.annotations![PV_ANNOTATIONS.directory] = 'other-tenant'; }, /does not match its recorded directory/],
    ['another server', (pv: ReturnType<typeof volume>) => { pv.spec!.nfs!.server = '10.9.9.9'; }, /10.9.9.9/],
    ['no nfs source', (pv: ReturnType<typeof volume>) => { delete pv.spec!.nfs; }, /NFS source \(none\)/],
  ])('refuses to touch the export for %s', (_what, edit, message) => {
    const pv = volume('pvc-1', 'ns/db', 'DELETE');
    edit(pv);
    const d = decideDelete(pv, IDENTITY);
    expect(d.action).toBe('fail');
    expect(d.action === 'fail' && d.message).toMatch(message);
    expect(d.action === 'fail' && d.message).toContain('nothing was touched');
  });

  test('recordedDirectory accepts nested plain paths only', () => {
    expect(recordedDirectory(volume('p', 'a/b/c', 'DELETE'))).toBe('a/b/c');
    expect(recordedDirectory(volume('p', 'a//b', 'DELETE'))).toBeUndefined();
    expect(recordedDirectory(volume('p', 'a/./b', 'DELETE'))).toBeUndefined();
  });
});

describe('parseClassParameters', () => {
  test('defaults', () => {
    expect(parseClassParameters('c', undefined)).toEqual({
      ok: true,
      value: { pathPattern: '${.PVC.namespace}-${.PVC.name}-${.PV.name}', onDelete: 'ARCHIVE', directoryMode: 0o777, maxVolumeSize: undefined },
    });
  });

  test.each([
    [{ directoryMode: '999' }, /directoryMode "999"; use an octal mode/],
    [{ directoryMode: '17777' }, /directoryMode/],
    [{ onDelete: 'keep' }, /onDelete "keep"; use one of DELETE, RETAIN, ARCHIVE/],
    [{ maxVolumeSize: 'lots' }, /maxVolumeSize "lots"/],
    [{ pathPattern: '/abs/${.PVC.name}' }, /absolute/],
    [{ pathPattern: '${.PVC.name}' }, /lets claims of two namespaces render one directory/],
    [{ pathPattern: '${.PVC.namespace}-${.PVC.name}' }, /lets claims of two namespaces render one directory/],
    [{ pathPattern: 'archived-${.PV.name}' }, /starts with "archived-"/],
    [{ pathPattern: '.cdk8s-storage-unfinished/${.PV.name}' }, /starts with "\.cdk8s-storage-"/],
  ])('rejects %j', (params, message) => {
    const r = parseClassParameters('c', params);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(message);
    expect(!r.ok && r.reason).toContain('StorageClass "c"');
  });

  test('parseMode', () => {
    expect(parseMode('0775')).toBe(0o775);
    expect(parseMode('775')).toBe(0o775);
    expect(parseMode('0o770')).toBe(0o770);
    expect(parseMode('2770')).toBe(0o2770);
    expect(parseMode('0x1ff')).toBeUndefined();
    expect(parseMode('77')).toBeUndefined();
  });
});

describe('DirectoryIndex', () => {
  test('reserve refuses an overlapping directory and names its owner', () => {
    const index = new DirectoryIndex();
    expect(index.reserve('ns/db', 'pvc-1')).toBeUndefined();
    expect(index.reserve('ns', 'pvc-2')).toEqual({ pvName: 'pvc-1', relativePath: 'ns/db' });
    expect(index.reserve('ns/db/inner', 'pvc-3')).toEqual({ pvName: 'pvc-1', relativePath: 'ns/db' });
    expect(index.reserve('ns/db', 'pvc-1')).toBeUndefined();
    expect(index.reserve('ns/db2', 'pvc-4')).toBeUndefined();
    index.remove('pvc-1');
    expect(index.reserve('ns/db', 'pvc-5')).toBeUndefined();
  });
});
