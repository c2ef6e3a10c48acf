import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import { PersistentVolumeAccessMode, PersistentVolumeMode } from 'cdk8s-plus-28';
import { AutoGrowPolicy, IStorageClassRef, NfsProvisioner, NfsServer, NfsStorageClass, NfsStorageClassOptions, ResizableClaim, ResizableClaimProps } from '../../../src';
import { one, synthValid } from '../../util/synth';

function nfsClass(chart: Chart, options: NfsStorageClassOptions = {}): NfsStorageClass {
  const provisioner = new NfsProvisioner(chart, 'nfs', {
    server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }),
    provisionerName: 'example.com/nfs',
  });
  return provisioner.addStorageClass('class', { name: 'nfs', ...options });
}

function claim(props: Partial<ResizableClaimProps> = {}, classOptions: NfsStorageClassOptions = {}) {
  const chart = Testing.chart();
  const storageClass = nfsClass(chart, classOptions);
  const c = new ResizableClaim(chart, 'data', { storageClass, storage: Size.gibibytes(10), ...props });
  return { chart, c, pvc: one(synthValid(chart), 'PersistentVolumeClaim') };
}

/** A class as another implementation (e.g. a local class) presents itself. */
const blockClass: IStorageClassRef = {
  name: 'local-block',
  allowVolumeExpansion: true,
  defaultAccessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE],
  defaultVolumeMode: PersistentVolumeMode.BLOCK,
};

const grow = (overrides: Partial<AutoGrowPolicy> = {}): AutoGrowPolicy => ({
  thresholdPercent: 80, increment: Size.gibibytes(5), max: Size.gibibytes(100), ...overrides,
});

describe('ResizableClaim defaults', () => {
  const { c, pvc } = claim();

  test('manifest', () => {
    expect(pvc).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'default' },
      spec: {
        storageClassName: 'nfs',
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Filesystem',
        resources: { requests: { storage: '10Gi' } },
      },
    });
  });

  test('resolved props', () => {
    expect(c.name).toBe('data');
    expect(c.namespace).toBe('default');
    expect(c.storageClassName).toBe('nfs');
    expect(c.storageQuantity).toBe('10Gi');
    expect(c.storage.toGibibytes()).toBe(10);
    expect(c.accessModes).toEqual([PersistentVolumeAccessMode.READ_WRITE_MANY]);
    expect(c.volumeMode).toBe(PersistentVolumeMode.FILE_SYSTEM);
    expect(c.autoGrow).toBeUndefined();
  });

  test('the PVC is the default child (escape hatch)', () => {
    expect(ApiObject.of(c).kind).toBe('PersistentVolumeClaim');
  });
});

describe('ResizableClaim options', () => {
  test('name and namespace', () => {
    const { c, pvc } = claim({ name: 'postgres-data', namespace: 'db' });
    expect(c.name).toBe('postgres-data');
    expect(pvc.metadata).toEqual({ name: 'postgres-data', namespace: 'db' });
  });

  test('the chart namespace applies when none is given', () => {
    const chart = new Chart(Testing.app(), 'apps', { namespace: 'team-a' });
    new ResizableClaim(chart, 'data', { storageClass: blockClass, storage: Size.gibibytes(1) });
    expect(one(synthValid(chart), 'PersistentVolumeClaim').metadata.namespace).toBe('team-a');
  });

  test.each([
    [Size.gibibytes(1.5), '1536Mi'],
    [Size.mebibytes(500), '500Mi'],
    [Size.kibibytes(0.5), '512'],
    [Size.gibibytes(1.1), '1181116007'],
    [Size.tebibytes(2), '2Ti'],
    [Size.mebibytes(1024), '1Gi'],
  ])('storage %s is written exactly as %s', (storage, quantity) => {
    const { c, pvc } = claim({ storage });
    expect(pvc.spec.resources.requests.storage).toBe(quantity);
    expect(c.storageQuantity).toBe(quantity);
  });

  test('accessModes', () => {
    const { c, pvc } = claim({ accessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE, PersistentVolumeAccessMode.READ_ONLY_MANY] });
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce', 'ReadOnlyMany']);
    expect(c.accessModes).toEqual([PersistentVolumeAccessMode.READ_WRITE_ONCE, PersistentVolumeAccessMode.READ_ONLY_MANY]);
  });

  test('accessModes is a copy', () => {
    const { c } = claim();
    c.accessModes.push(PersistentVolumeAccessMode.READ_ONLY_MANY);
    expect(c.accessModes).toEqual([PersistentVolumeAccessMode.READ_WRITE_MANY]);
  });

  test('ReadWriteOncePod alone', () => {
    expect(claim({ accessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE_POD] }).pvc.spec.accessModes).toEqual(['ReadWriteOncePod']);
  });

  test('defaults follow the class: a block class gives ReadWriteOnce Block claims', () => {
    const chart = Testing.chart();
    const c = new ResizableClaim(chart, 'disk', { storageClass: blockClass, storage: Size.gibibytes(100) });
    const pvc = one(synthValid(chart), 'PersistentVolumeClaim');
    expect(pvc.spec).toEqual({
      storageClassName: 'local-block',
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Block',
      resources: { requests: { storage: '100Gi' } },
    });
    expect(c.volumeMode).toBe(PersistentVolumeMode.BLOCK);
  });

  test('volumeMode', () => {
    expect(claim({ volumeMode: PersistentVolumeMode.FILE_SYSTEM }).pvc.spec.volumeMode).toBe('Filesystem');
    const chart = Testing.chart();
    new ResizableClaim(chart, 'raw', { storageClass: blockClass, storage: Size.gibibytes(1), volumeMode: PersistentVolumeMode.BLOCK });
    expect(one(synthValid(chart), 'PersistentVolumeClaim').spec.volumeMode).toBe('Block');
  });

  test('autoGrow is written as annotations with exact quantities', () => {
    const { c, pvc } = claim({ autoGrow: grow({ thresholdPercent: 85, increment: Size.gibibytes(2.5), max: Size.tebibytes(1) }) });
    expect(pvc.metadata.annotations).toEqual({
      'cdk8s-storage.dev/auto-grow-threshold-percent': '85',
      'cdk8s-storage.dev/auto-grow-increment': '2560Mi',
      'cdk8s-storage.dev/auto-grow-max': '1Ti',
    });
    expect(c.autoGrow?.thresholdPercent).toBe(85);
  });

  test('autoGrow with max equal to storage', () => {
    expect(claim({ autoGrow: grow({ max: Size.gibibytes(10) }) }).pvc.metadata.annotations['cdk8s-storage.dev/auto-grow-max']).toBe('10Gi');
  });

  test('storage and autoGrow.max up to the class maxVolumeSize', () => {
    const { pvc } = claim({ storage: Size.gibibytes(50), autoGrow: grow({ max: Size.gibibytes(100) }) }, { maxVolumeSize: Size.gibibytes(100) });
    expect(pvc.spec.resources.requests.storage).toBe('50Gi');
  });

  test('snapshot', () => {
    expect(claim({ name: 'data', namespace: 'apps', autoGrow: grow() }).pvc).toMatchSnapshot();
  });
});

describe('ResizableClaim validation', () => {
  test('throws without a storage class', () => {
    expect(() => new ResizableClaim(Testing.chart(), 'c', { storage: Size.gibibytes(1) } as any))
      .toThrow(/ResizableClaim test\/c: storageClass \(not set\) is missing/);
  });

  test('a class without expansion gives a fixed-size claim, and refuses autoGrow', () => {
    expect(claim({}, { allowVolumeExpansion: false }).pvc.spec.resources.requests.storage).toBe('10Gi');
    expect(() => claim({ autoGrow: grow() }, { allowVolumeExpansion: false }))
      .toThrow(/ResizableClaim test\/data: autoGrow .* is set, but class nfs does not allow volume expansion \(local volumes never grow\): remove autoGrow, or use a class with allowVolumeExpansion: true/);
  });

  test('throws for a zero storage request', () => {
    expect(() => claim({ storage: Size.gibibytes(0) })).toThrow(/storage "0Gi" is zero: request a positive size/);
  });

  test('throws for storage above the class maxVolumeSize', () => {
    expect(() => claim({ storage: Size.gibibytes(200) }, { maxVolumeSize: Size.gibibytes(100) }))
      .toThrow(/storage "200Gi" is larger than the maxVolumeSize of class nfs \(100Gi\): request less, or raise the class limit/);
  });

  test.each(['Data', 'data_1', '-data', 'x'.repeat(254)])('throws for the name %j', (name) => {
    expect(() => claim({ name })).toThrow(/name .* is not a valid claim name/);
  });

  test.each(['Apps', 'a.b', 'x'.repeat(64)])('throws for the namespace %j', (namespace) => {
    expect(() => claim({ namespace })).toThrow(/namespace .* is not a valid namespace name/);
  });

  test('throws for empty accessModes', () => {
    expect(() => claim({ accessModes: [] })).toThrow(/accessModes \[\] is empty: give at least one PersistentVolumeAccessMode/);
  });

  test('throws for an unknown access mode', () => {
    expect(() => claim({ accessModes: ['RWX' as PersistentVolumeAccessMode] })).toThrow(/accessModes "RWX" is not an PersistentVolumeAccessMode value/);
  });

  test('throws for duplicate access modes', () => {
    expect(() => claim({ accessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY, PersistentVolumeAccessMode.READ_WRITE_MANY] })).toThrow(/has duplicates: list each access mode once/);
  });

  test('throws for ReadWriteOncePod with other modes', () => {
    expect(() => claim({ accessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE_POD, PersistentVolumeAccessMode.READ_ONLY_MANY] }))
      .toThrow(/combines ReadWriteOncePod with other modes/);
  });

  test('throws for an unknown volume mode', () => {
    expect(() => claim({ volumeMode: 'Raw' as PersistentVolumeMode })).toThrow(/volumeMode "Raw" is not a PersistentVolumeMode value/);
  });

  test('throws for PersistentVolumeMode.BLOCK on an NFS class, whose volumes are file systems', () => {
    expect(() => claim({ volumeMode: PersistentVolumeMode.BLOCK }))
      .toThrow('ResizableClaim test/data: volumeMode "Block" is not offered by class nfs (its volumes are Filesystem): '
        + 'remove volumeMode or use PersistentVolumeMode.FILE_SYSTEM, or a class that offers Block volumes');
  });

  test.each([0, 100, -5, 50.5, NaN])('throws for autoGrow.thresholdPercent %p', (thresholdPercent) => {
    expect(() => claim({ autoGrow: grow({ thresholdPercent }) })).toThrow(/autoGrow.thresholdPercent .* is outside 1-99: give a whole percentage/);
  });

  test.each([NaN, Infinity, -Infinity])('throws for autoGrow.thresholdPercent %p, naming it (not "null")', (thresholdPercent) => {
    expect(() => claim({ autoGrow: grow({ thresholdPercent }) })).toThrow(`autoGrow.thresholdPercent ${thresholdPercent} is outside 1-99`);
  });

  test.each([
    ['storage', { storage: Size.gibibytes(NaN) }, 'storage "NaNGi"'],
    ['storage', { storage: Size.gibibytes(Infinity) }, 'storage "InfinityGi"'],
    ['autoGrow.increment', { autoGrow: grow({ increment: Size.mebibytes(NaN) }) }, 'autoGrow.increment "NaNMi"'],
    ['autoGrow.max', { autoGrow: grow({ max: Size.gibibytes(Infinity) }) }, 'autoGrow.max "InfinityGi"'],
  ])('throws for a %s that is not a finite size', (_prop, props, named) => {
    expect(() => claim(props)).toThrow(`ResizableClaim test/data: ${named} is not a usable size: `);
    expect(() => claim(props)).toThrow(/give a finite size, e.g. Size.gibibytes\(10\)$/);
  });

  test('throws for two claims with one name in one namespace', () => {
    const chart = Testing.chart();
    const storageClass = nfsClass(chart);
    new ResizableClaim(chart, 'a', { storageClass, storage: Size.gibibytes(1), name: 'data', namespace: 'apps' });
    new ResizableClaim(chart, 'other-namespace', { storageClass, storage: Size.gibibytes(1), name: 'data', namespace: 'web' });
    expect(() => new ResizableClaim(chart, 'b', { storageClass, storage: Size.gibibytes(1), name: 'data', namespace: 'apps' }))
      .toThrow('ResizableClaim test/b: name "data" is already used by the PersistentVolumeClaim at test/a/Resource in the same namespace ("apps"): '
        + 'give each claim in a namespace its own name');
  });

  test('throws for two claims with one name across charts of one namespace', () => {
    const app = Testing.app();
    const first = new Chart(app, 'first', { namespace: 'apps' });
    const second = new Chart(app, 'second', { namespace: 'apps' });
    const storageClass = nfsClass(first);
    new ResizableClaim(first, 'a', { storageClass, storage: Size.gibibytes(1), name: 'data' });
    expect(() => new ResizableClaim(second, 'b', { storageClass, storage: Size.gibibytes(1), name: 'data' }))
      .toThrow(/name "data" is already used by the PersistentVolumeClaim at first\/a\/Resource in the same namespace \("apps"\)/);
  });

  test('a claim of the same name added later fails the synth', () => {
    const chart = Testing.chart();
    const storageClass = nfsClass(chart);
    new ResizableClaim(chart, 'a', { storageClass, storage: Size.gibibytes(1), name: 'data' });
    new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' } });
    expect(() => Testing.synth(chart))
      .toThrow(/ResizableClaim test\/a: name "data" is already used by the PersistentVolumeClaim at test\/raw in the same namespace \("default"\)/);
  });

  test('throws for a zero autoGrow.increment', () => {
    expect(() => claim({ autoGrow: grow({ increment: Size.mebibytes(0) }) })).toThrow(/autoGrow.increment "0Mi" is zero: give a positive step/);
  });

  test('throws for autoGrow.max below storage', () => {
    expect(() => claim({ autoGrow: grow({ max: Size.gibibytes(5) }) }))
      .toThrow('ResizableClaim test/data: autoGrow.max "5Gi" is smaller than storage (10Gi): set max to at least the requested storage');
  });

  test('throws for autoGrow.max above the class maxVolumeSize', () => {
    expect(() => claim({ autoGrow: grow({ max: Size.gibibytes(500) }) }, { maxVolumeSize: Size.gibibytes(100) }))
      .toThrow(/autoGrow.max "500Gi" is larger than the maxVolumeSize of class nfs \(100Gi\)/);
  });
});
