import { App, Chart, Size, Testing } from 'cdk8s';
import { LocalStaticProvisioner, NfsProvisioner, NfsServer, ResizableClaim } from '../../../src';

/** Every name a user's volumes depend on, for an app whose one chart has the id `chartId`. */
function namesIn(chartId: string, namespace?: string) {
  const app: App = Testing.app();
  const chart = new Chart(app, chartId, namespace ? { namespace } : {});
  const nfs = new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) });
  const shared = nfs.addStorageClass('shared');
  const claim = new ResizableClaim(chart, 'postgres-data', { storageClass: shared, storage: Size.gibibytes(10) });
  const local = new LocalStaticProvisioner(chart, 'local-disks');
  const ssd = local.addStorageClass('ssd', { hostDir: '/mnt/disks/ssd' });
  const objects = Testing.synth(chart);
  const pv = objects.find((o) => o.kind === 'PersistentVolumeClaim');
  return {
    provisionerName: nfs.provisionerName,
    leaseName: nfs.leaseName,
    nfsClass: shared.name,
    claim: `${pv.metadata.namespace}/${pv.metadata.name}`,
    localIdentity: JSON.parse(objects.find((o) => o.kind === 'ConfigMap').data['classes.json']).provisioner,
    localClass: ssd.name,
    claimObject: claim.name,
  };
}

describe('default names do not depend on the construct path', () => {
  test('renaming the parent chart keeps every name volumes depend on', () => {
    expect(namesIn('storage-v2')).toEqual(namesIn('storage'));
  });

  test('they are made of the namespace and the construct ids', () => {
    expect(namesIn('storage', 'infra')).toEqual({
      provisionerName: 'cdk8s-storage.dev/nfs.infra.nfs',
      leaseName: 'cdk8s-storage.dev-nfs.infra.nfs',
      nfsClass: 'shared',
      claim: 'infra/postgres-data',
      localIdentity: 'infra/local-disks',
      localClass: 'ssd',
      claimObject: 'postgres-data',
    });
  });

  test('moving a construct into a nested scope keeps its name too', () => {
    const chart = Testing.chart();
    const nested = new Chart(chart, 'nested');
    const nfs = new NfsProvisioner(nested, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) });
    expect(nfs.provisionerName).toBe('cdk8s-storage.dev/nfs.default.nfs');
  });

  test('an id is lowered to a DNS label', () => {
    const chart = Testing.chart();
    const nfs = new NfsProvisioner(chart, 'Shared_NFS', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) });
    expect(nfs.provisionerName).toBe('cdk8s-storage.dev/nfs.default.shared-nfs');
    expect(nfs.addStorageClass('Fast_Class').name).toBe('fast-class');
  });

  test('an id with nothing to make a name of asks for the prop', () => {
    const chart = Testing.chart();
    expect(() => new NfsProvisioner(chart, '__', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) }))
      .toThrow('NfsProvisioner test/__: provisionerName (not set) cannot be derived from the construct id "__", which has no letter or digit: set provisionerName, or give the construct an id such as "data"');
  });

  test('a default provisioner name too long for Kubernetes asks for provisionerName', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'n'.repeat(40) });
    expect(() => new NfsProvisioner(chart, 'x'.repeat(30), { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) }))
      .toThrow(/provisionerName \(not set\) would default to ".*", which is longer than 63 characters after the "\/": set provisionerName/);
  });

  test('two claims of one id in one namespace, in different charts, are refused with the fix', () => {
    const app = Testing.app();
    const [a, b] = [new Chart(app, 'a'), new Chart(app, 'b')];
    const nfs = new NfsProvisioner(a, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) });
    const storageClass = nfs.addStorageClass('shared');
    new ResizableClaim(a, 'data', { storageClass, storage: Size.gibibytes(1) });
    expect(() => new ResizableClaim(b, 'data', { storageClass, storage: Size.gibibytes(1) }))
      .toThrow(/name "data" is already used by the PersistentVolumeClaim at a\/data\/Resource in the same namespace \("default"\): .*\(set name, or use another construct id\)/);
  });

  test('two local provisioners of one id in one namespace are refused (their agents would take the same volumes)', () => {
    const app = Testing.app();
    new LocalStaticProvisioner(new Chart(app, 'a'), 'local');
    expect(() => new LocalStaticProvisioner(new Chart(app, 'b'), 'local'))
      .toThrow(/^LocalStaticProvisioner b\/local: its identity "default\/local" \(namespace and construct id\) is also that of the LocalStaticProvisioner at a\/local/);
  });
});
