/**
 * NFS on an existing server: a NAS exports /exports/k8s, and every claim of the cluster's
 * NFS classes becomes a directory there.
 *
 * - `nfs` (the cluster default): one directory per claim under its namespace
 *   (/exports/k8s/<namespace>/<claim>-<volume>); a deleted claim's directory is archived,
 *   so nothing is lost by a wrong `kubectl delete`.
 * - `nfs-scratch`: for caches and build output; a deleted claim's directory is removed,
 *   and no claim may ask for more than 50Gi.
 *
 * A web app with three replicas shares one ReadWriteMany volume for its uploads.
 */
import { App, Chart, ChartProps, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NfsProvisioner, NfsServer, OnDelete, ResizableClaim } from '../../src';

export class NfsExistingServerChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);

    const nfs = new NfsProvisioner(this, 'nfs', {
      server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }),
      namespace: 'nfs-storage',
      createNamespace: true,
      // Fixed: the controller only ever deletes volumes stamped with this name.
      provisionerName: 'storage.example.com/nfs',
    });

    const shared = nfs.addStorageClass('default', {
      name: 'nfs',
      pathPattern: '${.PVC.namespace}/${.PVC.name}-${.PV.name}',
      onDelete: OnDelete.ARCHIVE,
      // Pods run as various users; the group bit keeps new files in the directory's group.
      directoryMode: '2777',
      defaultClass: true,
    });

    nfs.addStorageClass('scratch', {
      name: 'nfs-scratch',
      onDelete: OnDelete.DELETE,
      maxVolumeSize: Size.gibibytes(50),
    });

    // The web app: three replicas on any nodes, one shared uploads directory.
    const uploads = new ResizableClaim(this, 'uploads', {
      name: 'web-uploads',
      namespace: 'web',
      storageClass: shared,
      storage: Size.gibibytes(20),
    });
    const labels = { app: 'web' };
    new k8s.KubeNamespace(this, 'web-namespace', { metadata: { name: 'web' } });
    new k8s.KubeDeployment(this, 'web', {
      metadata: { name: 'web', namespace: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, fsGroup: 101 },
            containers: [{
              name: 'web',
              image: 'nginxinc/nginx-unprivileged:1.27',
              ports: [{ name: 'http', containerPort: 8080 }],
              resources: {
                requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
                limits: { memory: k8s.Quantity.fromString('256Mi') },
              },
              volumeMounts: [{ name: 'uploads', mountPath: '/usr/share/nginx/html/uploads' }],
            }],
            volumes: [{ name: 'uploads', persistentVolumeClaim: { claimName: uploads.name } }],
          },
        },
      },
    });
  }
}

/** Synthesizes this example into `outdir`. */
export function synth(outdir: string): void {
  const app = new App({ outdir });
  new NfsExistingServerChart(app, 'nfs-existing-server');
  app.synth();
}
