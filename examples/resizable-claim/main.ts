/**
 * Claims that grow: the platform team runs the NFS provisioner and a class in one chart;
 * an application team claims volumes from it in its own chart and namespace.
 *
 * - `reports` grows by itself: when it is 80% full the controller adds 10Gi, up to 200Gi.
 * - `archive` grows when someone raises `storage` here and re-applies; the controller
 *   resizes the volume and reports the new capacity on the claim.
 *
 * The class caps every claim at 500Gi, so neither a typo nor a runaway job can ask for more.
 */
import { App, Chart, ChartProps, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { IStorageClassRef, NfsProvisioner, NfsServer, OnDelete, ResizableClaim } from '../../src';

export class PlatformChart extends Chart {
  public readonly storageClass: IStorageClassRef;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    const nfs = new NfsProvisioner(this, 'nfs', {
      server: NfsServer.external({ host: 'nas.example.com', path: '/srv/k8s' }),
      namespace: 'platform-storage',
      createNamespace: true,
      provisionerName: 'platform.example.com/nfs',
    });
    // The platform team owns the namespaces of the application teams.
    new k8s.KubeNamespace(this, 'analytics-namespace', { metadata: { name: 'analytics' } });

    this.storageClass = nfs.addStorageClass('growable', {
      name: 'nfs-growable',
      pathPattern: '${.PVC.namespace}/${.PVC.name}',
      onDelete: OnDelete.ARCHIVE,
      maxVolumeSize: Size.gibibytes(500),
    });
  }
}

export interface AnalyticsChartProps extends ChartProps {
  readonly storageClass: IStorageClassRef;
}

export class AnalyticsChart extends Chart {
  constructor(scope: Construct, id: string, props: AnalyticsChartProps) {
    // Every object of this chart lands in the team's namespace.
    super(scope, id, { ...props, namespace: 'analytics' });

    const reports = new ResizableClaim(this, 'reports', {
      name: 'reports',
      storageClass: props.storageClass,
      storage: Size.gibibytes(20),
      autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(10), max: Size.gibibytes(200) },
    });

    new ResizableClaim(this, 'archive', {
      name: 'archive',
      storageClass: props.storageClass,
      storage: Size.gibibytes(100),
    });

    // A nightly job writes its reports to the growing volume.
    new k8s.KubeCronJob(this, 'nightly-report', {
      metadata: { name: 'nightly-report' },
      spec: {
        schedule: '0 2 * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'OnFailure',
                securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
                containers: [{
                  name: 'report',
                  image: 'busybox:1.36',
                  command: ['sh', '-c', 'date > /reports/$(date +%F).txt'],
                  resources: { requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') } },
                  volumeMounts: [{ name: 'reports', mountPath: '/reports' }],
                }],
                volumes: [{ name: 'reports', persistentVolumeClaim: { claimName: reports.name } }],
              },
            },
          },
        },
      },
    });
  }
}

/** Synthesizes this example into `outdir`. */
export function synth(outdir: string): void {
  const app = new App({ outdir });
  const platform = new PlatformChart(app, 'platform');
  new AnalyticsChart(app, 'analytics', { storageClass: platform.storageClass });
  app.synth();
}
