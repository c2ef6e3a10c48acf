/**
 * Each Namespace a construct creates carries the Pod Security level its pods need: every pod
 * template in it meets the enforced level, and not the next stricter one (so the label is
 * the strictest that works). The checker is test/util/pod-security.ts.
 */
import { Chart, Testing } from 'cdk8s';
import { PersistentVolumeMode } from 'cdk8s-plus-28';
import { BlockCleaner, LocalStaticProvisioner, NfsProvisioner, NfsQuota, NfsServer } from '../../../src';
import { Level, podSecurityViolations } from '../../util/pod-security';
import { one, synthValid } from '../../util/synth';

const STRICTER: Record<Level, Level | undefined> = { privileged: 'baseline', baseline: 'restricted', restricted: undefined };

const CASES: Array<[string, (chart: Chart) => void, Level]> = [
  ['NfsProvisioner', (chart) => {
    new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }), namespace: 'nfs', createNamespace: true });
  }, 'baseline'],
  ['NfsProvisioner, one replica', (chart) => {
    new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }), namespace: 'nfs', createNamespace: true, replicas: 1 });
  }, 'baseline'],
  ['NfsProvisioner with an in-cluster server, capability set (quota NONE)', (chart) => {
    new NfsProvisioner(chart, 'nfs', { server: NfsServer.inCluster({ quota: NfsQuota.NONE }), namespace: 'nfs', createNamespace: true });
  }, 'privileged'],
  ['NfsProvisioner with an in-cluster server, loop images', (chart) => {
    new NfsProvisioner(chart, 'nfs', { server: NfsServer.inCluster(), namespace: 'nfs', createNamespace: true });
  }, 'privileged'],
  ['LocalStaticProvisioner, mount points only', (chart) => {
    new LocalStaticProvisioner(chart, 'local', { namespace: 'local', createNamespace: true }).addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
  }, 'privileged'],
  ['LocalStaticProvisioner, block devices and the node-deletion role', (chart) => {
    new LocalStaticProvisioner(chart, 'local', { namespace: 'local', createNamespace: true, nodeCleanup: true })
      .addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner: BlockCleaner.quickReset() });
  }, 'privileged'],
];

describe.each(CASES)('%s', (_name, build, expected) => {
  const chart = Testing.chart();
  build(chart);
  const objs = synthValid(chart);
  const namespace = one(objs, 'Namespace');
  const templates = objs.filter((o) => o.spec?.template?.spec?.containers).map((o) => ({ kind: o.kind, template: o.spec.template }));

  test(`its Namespace enforces, warns and audits ${expected}`, () => {
    expect(namespace.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': expected,
      'pod-security.kubernetes.io/warn': expected,
      'pod-security.kubernetes.io/audit': expected,
    });
  });

  test('every pod in it meets that level', () => {
    expect(templates.length).toBeGreaterThan(0);
    for (const { template } of templates) expect(podSecurityViolations(template, expected)).toEqual([]);
  });

  test('and the stricter level would refuse one of them', () => {
    const stricter = STRICTER[expected]!;
    expect(templates.some(({ template }) => podSecurityViolations(template, stricter).length > 0)).toBe(true);
  });
});

describe('the checker', () => {
  const pod = (spec: any, annotations?: Record<string, string>) => ({ metadata: { annotations }, spec });
  const restrictedContainer = {
    name: 'c',
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
  };

  test('a restricted pod passes every level', () => {
    const p = pod({ containers: [restrictedContainer], volumes: [{ name: 'v', emptyDir: {} }] });
    expect(podSecurityViolations(p, 'restricted')).toEqual([]);
    expect(podSecurityViolations(p, 'baseline')).toEqual([]);
  });

  test.each<[string, any, Level, string]>([
    ['a hostPath volume', pod({ containers: [{ name: 'c' }], volumes: [{ name: 'v', hostPath: { path: '/' } }] }), 'baseline', 'hostPath volumes: volume v'],
    ['a privileged container', pod({ containers: [{ name: 'c', securityContext: { privileged: true } }] }), 'baseline', 'privileged containers: container c'],
    ['SYS_ADMIN', pod({ containers: [{ name: 'c', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }] }), 'baseline', 'capabilities: container c adds SYS_ADMIN'],
    ['the host network', pod({ hostNetwork: true, containers: [{ name: 'c' }] }), 'baseline', 'host namespaces: spec.hostNetwork'],
    ['a host port', pod({ containers: [{ name: 'c', ports: [{ containerPort: 1, hostPort: 8080 }] }] }), 'baseline', 'host ports: container c port 8080'],
    ['an unconfined seccomp profile', pod({ securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [{ name: 'c' }] }), 'baseline', 'seccomp: spec.securityContext.seccompProfile'],
    ['an nfs volume', pod({ containers: [restrictedContainer], volumes: [{ name: 'v', nfs: { server: 's', path: '/' } }] }), 'restricted', 'volume types: volume v is nfs'],
    ['DAC_OVERRIDE', pod({ containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] } } }] }),
      'restricted', 'capabilities: container c adds DAC_OVERRIDE'],
    ['root', pod({ containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, runAsNonRoot: false } }] }),
      'restricted', 'running as non-root: container c does not set runAsNonRoot: true'],
  ])('refuses %s', (_what, p, level, violation) => {
    expect(podSecurityViolations(p, level)).toContain(violation);
  });
});
