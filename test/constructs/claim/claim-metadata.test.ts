import { ApiObject, Chart, Duration, Size, Testing } from 'cdk8s';
import { NfsProvisioner, NfsServer, NfsStorageClassOptions, ResizableClaim, ResizableClaimProps, StorageClassRef } from '../../../src';
import { one, synthValid } from '../../util/synth';

function setup(classOptions: NfsStorageClassOptions = {}, usageInterval?: Duration) {
  const chart = Testing.chart();
  const nfs = new NfsProvisioner(chart, 'nfs', {
    server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }),
    ...(usageInterval ? { usageInterval } : {}),
  });
  return { chart, storageClass: nfs.addStorageClass('shared', classOptions) };
}

function claim(props: Partial<ResizableClaimProps> = {}, classOptions: NfsStorageClassOptions = {}) {
  const { chart, storageClass } = setup(classOptions);
  const c = new ResizableClaim(chart, 'data', { storageClass, storage: Size.gibibytes(1), ...props });
  return { chart, c };
}

const byTeam = { pathPattern: '${.PVC.namespace}/${.PVC.labels.team}/${.PVC.annotations.example.com/owner}-${.PV.name}' };

describe('ResizableClaim labels and annotations', () => {
  test('are written on the claim', () => {
    const { chart } = claim({ labels: { team: 'payments' }, annotations: { 'example.com/owner': 'ana' } });
    expect(one(synthValid(chart), 'PersistentVolumeClaim').metadata)
      .toEqual({ name: 'data', namespace: 'default', labels: { team: 'payments' }, annotations: { 'example.com/owner': 'ana' } });
  });

  test('sit next to the autoGrow annotations', () => {
    const { chart } = claim({
      annotations: { 'example.com/owner': 'ana' },
      autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(1), max: Size.gibibytes(5) },
    });
    expect(one(synthValid(chart), 'PersistentVolumeClaim').metadata.annotations).toEqual({
      'example.com/owner': 'ana',
      'cdk8s-storage.dev/auto-grow-threshold-percent': '80',
      'cdk8s-storage.dev/auto-grow-increment': '1Gi',
      'cdk8s-storage.dev/auto-grow-max': '5Gi',
    });
  });

  test.each([
    [{ labels: { 'bad key!': 'x' } }, /labels key "bad key!" is not a valid label key: use \[prefix\/\]name/],
    [{ labels: { team: 'a b' } }, /labels\["team"\] "a b" is not a valid label value: use at most 63 letters/],
    [{ annotations: { '-x': 'y' } }, /annotations key "-x" is not a valid annotation key/],
    [{ annotations: { 'cdk8s-storage.dev/auto-grow-max': '1Ti' } }, /annotations key "cdk8s-storage.dev\/auto-grow-max" is one the controller writes or reads itself: use autoGrow/],
  ])('refuses %j', (props, error) => {
    expect(() => claim(props as Partial<ResizableClaimProps>)).toThrow(error);
  });
});

describe('a class whose pathPattern reads claim labels and annotations', () => {
  test('the class lists the keys its claims need', () => {
    const { storageClass } = setup(byTeam);
    expect(storageClass.requiredClaimLabels).toEqual(['team']);
    expect(storageClass.requiredClaimAnnotations).toEqual(['example.com/owner']);
  });

  test('a claim with both keys synthesizes', () => {
    const { chart } = claim({ labels: { team: 'payments' }, annotations: { 'example.com/owner': 'ana' } }, byTeam);
    expect(() => synthValid(chart)).not.toThrow();
  });

  test('a claim without the label fails at synth, naming prop, key and fix', () => {
    const { chart } = claim({ annotations: { 'example.com/owner': 'ana' } }, byTeam);
    expect(() => Testing.synth(chart)).toThrow('ResizableClaim test/data: labels {} has no "team", which the volume path of class shared is made from '
      + '(${.PVC.labels.team}), so the volume would never be provisioned: add labels: { "team": \'<value>\' }');
  });

  test('a claim without the annotation fails at synth', () => {
    const { chart } = claim({ labels: { team: 'payments' } }, byTeam);
    expect(() => Testing.synth(chart)).toThrow(/annotations {} has no "example.com\/owner", which the volume path of class shared is made from/);
  });

  test('an empty value counts as missing (the controller refuses it)', () => {
    const { chart } = claim({ labels: { team: '' }, annotations: { 'example.com/owner': 'ana' } }, byTeam);
    expect(() => Testing.synth(chart)).toThrow(/labels \{"team":""\} has no "team"/);
  });

  test('a label added through the escape hatch counts', () => {
    const { chart, c } = claim({ annotations: { 'example.com/owner': 'ana' } }, byTeam);
    ApiObject.of(c).metadata.addLabel('team', 'payments');
    expect(() => synthValid(chart)).not.toThrow();
  });

  test('a class outside the app can state the keys too', () => {
    const chart = Testing.chart();
    const ref = StorageClassRef.fromName('nfs-by-team', { allowVolumeExpansion: true, requiredClaimLabels: ['team'] });
    new ResizableClaim(chart, 'data', { storageClass: ref, storage: Size.gibibytes(1) });
    expect(() => Testing.synth(chart)).toThrow(/labels {} has no "team"/);
  });
});

describe('ResizableClaim namespace', () => {
  test('a namespace-less chart gives the claim "default" explicitly', () => {
    const { chart, c } = claim();
    expect(c.namespace).toBe('default');
    expect(one(synthValid(chart), 'PersistentVolumeClaim').metadata.namespace).toBe('default');
  });

  test('the chart namespace, then the prop', () => {
    const chart = new Chart(Testing.app(), 'apps', { namespace: 'team-a' });
    const ref = StorageClassRef.fromName('gp3', { allowVolumeExpansion: true });
    expect(new ResizableClaim(chart, 'a', { storageClass: ref, storage: Size.gibibytes(1) }).namespace).toBe('team-a');
    expect(new ResizableClaim(chart, 'b', { storageClass: ref, storage: Size.gibibytes(1), namespace: 'db' }).namespace).toBe('db');
  });
});

describe('autoGrow and usage measuring', () => {
  test('refused when the provisioner never measures usage (usageInterval 0)', () => {
    const { chart, storageClass } = setup({}, Duration.seconds(0));
    expect(storageClass.measuresUsage).toBe(false);
    expect(() => new ResizableClaim(chart, 'data', {
      storageClass, storage: Size.gibibytes(1), autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(1), max: Size.gibibytes(5) },
    })).toThrow(/^ResizableClaim test\/data: autoGrow .* is set, but the provisioner of class shared does not measure usage \(usageInterval 0\), so it could never fire: give the provisioner a usageInterval above 0/);
  });

  test('accepted with the default interval', () => {
    expect(setup().storageClass.measuresUsage).toBe(true);
  });
});
