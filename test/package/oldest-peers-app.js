// A user's app, written against the installed package only (copied into the test's app
// directory and run there): every construct, a claim mounted the cdk8s-plus way.
const { App, Chart, Size } = require('cdk8s');
const kplus = require('cdk8s-plus-28');
const storage = require('cdk8s-storage');

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'storage', { namespace: 'apps' });

const nfs = new storage.NfsProvisioner(chart, 'nfs', {
  server: storage.NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s/' }),
  createNamespace: true,
});
const shared = nfs.addStorageClass('shared', { maxVolumeSize: Size.gibibytes(500) });
const data = new storage.ResizableClaim(chart, 'data', {
  storageClass: shared,
  storage: Size.gibibytes(10),
  accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY],
  autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(5), max: Size.gibibytes(100) },
});

const local = new storage.LocalStaticProvisioner(chart, 'local', {
  createNamespace: true,
  tolerations: [{ key: 'storage', operator: storage.TolerationOperator.EXISTS, effect: kplus.TaintEffect.NO_SCHEDULE }],
});
const ssd = local.addStorageClass('ssd', { hostDir: '/mnt/disks/ssd', reclaimPolicy: kplus.PersistentVolumeReclaimPolicy.RETAIN });
new storage.ResizableClaim(chart, 'cache', { storageClass: ssd, storage: Size.gibibytes(100) });

const gp3 = storage.StorageClassRef.fromName('gp3', { allowVolumeExpansion: true });
new storage.ResizableClaim(chart, 'logs', { storageClass: gp3, storage: Size.gibibytes(5) });

new kplus.Deployment(chart, 'web', {
  containers: [{
    image: 'nginx:1.27',
    volumeMounts: [{ path: '/data', volume: kplus.Volume.fromPersistentVolumeClaim(chart, 'data-volume', data) }],
  }],
});

app.synth();
