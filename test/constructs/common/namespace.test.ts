import { ApiObject, Chart, Testing } from 'cdk8s';
import { LocalStaticProvisioner, NfsProvisioner, NfsServer } from '../../../src';
import { all, synthValid } from '../../util/synth';

const server = () => NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' });

describe('createNamespace', () => {
  test('an NFS and a local provisioner in one namespace write one Namespace', () => {
    const chart = Testing.chart();
    new NfsProvisioner(chart, 'nfs', { server: server(), namespace: 'storage', createNamespace: true });
    new LocalStaticProvisioner(chart, 'local', { namespace: 'storage', createNamespace: true })
      .addStorageClass('ssd', { hostDir: '/mnt/disks/ssd' });
    const namespaces = all(synthValid(chart), 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual(['storage']);
  });

  test.each([
    ['NFS first', ['nfs', 'local']],
    ['local first', ['local', 'nfs']],
  ])('a namespace shared by the NFS controller (baseline) and the node agent (privileged) is privileged (%s)', (_name, order) => {
    const chart = Testing.chart();
    for (const which of order) {
      if (which === 'nfs') new NfsProvisioner(chart, 'nfs', { server: server(), namespace: 'storage', createNamespace: true });
      else new LocalStaticProvisioner(chart, 'local', { namespace: 'storage', createNamespace: true }).addStorageClass('ssd', { hostDir: '/mnt/disks/ssd' });
    }
    const [namespace] = all(synthValid(chart), 'Namespace');
    for (const mode of ['enforce', 'warn', 'audit']) {
      expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('privileged');
    }
  });

  test('a Pod Security level the app set itself is raised only as far as the pods need', () => {
    const chart = Testing.chart();
    new ApiObject(chart, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'storage', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.30' } } });
    new NfsProvisioner(chart, 'nfs', { server: server(), namespace: 'storage', createNamespace: true });
    const [namespace] = all(synthValid(chart), 'Namespace');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce-version']).toBe('v1.30');
  });

  test('two provisioners in two charts: still one', () => {
    const app = Testing.app();
    new NfsProvisioner(new Chart(app, 'a'), 'nfs', { server: server(), namespace: 'storage', createNamespace: true });
    new NfsProvisioner(new Chart(app, 'b'), 'nfs', { server: server(), namespace: 'storage', createNamespace: true, provisionerName: 'example.com/b' });
    expect(app.charts.flatMap((c) => all(Testing.synth(c), 'Namespace'))).toHaveLength(1);
  });

  test('a Namespace the app writes itself is used, not doubled', () => {
    const chart = Testing.chart();
    new ApiObject(chart, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'storage', labels: { team: 'infra' } } });
    new NfsProvisioner(chart, 'nfs', { server: server(), namespace: 'storage', createNamespace: true });
    const namespaces = all(synthValid(chart), 'Namespace');
    expect(namespaces).toHaveLength(1);
    expect(namespaces[0].metadata.labels).toMatchObject({ 'team': 'infra', 'app.kubernetes.io/managed-by': 'cdk8s-storage' });
  });

  test('different namespaces each get theirs', () => {
    const chart = new Chart(Testing.app(), 'c');
    new NfsProvisioner(chart, 'a', { server: server(), namespace: 'one', createNamespace: true });
    new NfsProvisioner(chart, 'b', { server: server(), namespace: 'two', createNamespace: true });
    expect(all(synthValid(chart), 'Namespace').map((n) => n.metadata.name).sort()).toEqual(['one', 'two']);
  });
});
