/**
 * An NFS server inside the cluster, for a cluster with block storage but no NAS: one pod
 * runs nfs-ganesha on a 200Gi claim of the `fast-ssd` class and exports one volume per
 * claim, each with a size the server enforces (an XFS loop image) and grows online.
 *
 * - The Service's IP is pinned (10.96.0.50): every volume names the server by it, so
 *   re-creating the Service can never strand the volumes.
 * - Images are preallocated: the volumes together can never promise more than the 200Gi.
 * - `nfs-sized` (the cluster default) archives a deleted claim's image, so nothing is lost by
 *   a wrong `kubectl delete`.
 *
 * A build job's cache claim starts at 5Gi and grows by 5Gi whenever it is 90% full, up to
 * 50Gi; writes past its current size fail with "no space left" instead of filling the disk.
 */
import { App, Chart, ChartProps, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NfsProvisioner, NfsQuota, NfsServer, OnDelete, ResizableClaim } from '../../src';

export class NfsInClusterServerChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);

    const nfs = new NfsProvisioner(this, 'nfs', {
      server: NfsServer.inCluster({
        quota: NfsQuota.LOOP_IMAGE,
        preallocate: true,
        storageClass: 'fast-ssd',
        backingSize: Size.gibibytes(200),
        clusterIP: '10.96.0.50',
      }),
      namespace: 'nfs-server',
      createNamespace: true,
      // Fixed: the server only ever deletes volumes stamped with this name.
      provisionerName: 'storage.example.com/nfs-server',
    });

    const sized = nfs.addStorageClass('sized', {
      name: 'nfs-sized',
      onDelete: OnDelete.ARCHIVE,
      maxVolumeSize: Size.gibibytes(100),
      defaultClass: true,
    });

    new k8s.KubeNamespace(this, 'ci-namespace', { metadata: { name: 'ci' } });
    const cache = new ResizableClaim(this, 'build-cache', {
      name: 'build-cache',
      namespace: 'ci',
      storageClass: sized,
      storage: Size.gibibytes(5),
      autoGrow: { thresholdPercent: 90, increment: Size.gibibytes(5), max: Size.gibibytes(50) },
    });

    const labels = { app: 'builder' };
    new k8s.KubeDeployment(this, 'builder', {
      metadata: { name: 'builder', namespace: 'ci' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
            containers: [{
              name: 'builder',
              image: 'docker.io/library/busybox:1.36',
              command: ['sh', '-c', 'while true; do date >> /cache/heartbeat; sleep 60; done'],
              resources: {
                requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') },
                limits: { memory: k8s.Quantity.fromString('64Mi') },
              },
              volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
            }],
            volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: cache.name } }],
          },
        },
      },
    });
  }
}

/** Synthesizes this example into `outdir`. */
export function synth(outdir: string): void {
  const app = new App({ outdir });
  new NfsInClusterServerChart(app, 'nfs-in-cluster-server');
  app.synth();
}
