/** The TypeScript twin of app.py: the same constructs with the same ids and values. */
import { App, Chart, Size } from 'cdk8s';
import { NfsProvisioner, NfsServer, OnDelete, ResizableClaim } from '../../src';

/** Synthesizes the app into `outdir`. */
export function synth(outdir: string): void {
  const app = new App({ outdir });
  const chart = new Chart(app, 'storage');

  const nfs = new NfsProvisioner(chart, 'nfs', {
    server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }),
    namespace: 'storage-system',
    provisionerName: 'storage.example.com/nfs',
    image: 'registry.example.com/storage/controller:1.2.3',
  });
  const shared = nfs.addStorageClass('shared', {
    name: 'nfs-shared',
    pathPattern: '${.PVC.namespace}/${.PVC.name}',
    onDelete: OnDelete.ARCHIVE,
    maxVolumeSize: Size.gibibytes(100),
  });
  new ResizableClaim(chart, 'data', {
    storageClass: shared,
    storage: Size.gibibytes(10),
    name: 'data',
    namespace: 'team-a',
    autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(5), max: Size.gibibytes(50) },
  });

  app.synth();
}
