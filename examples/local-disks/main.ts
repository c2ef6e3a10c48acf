/**
 * Local disks: a storage node pool whose nodes carry NVMe disks.
 *
 * - Fast filesystem volumes: each disk partition is formatted and mounted by the node's
 *   provisioning (e.g. at /mnt/fast-disks/nvme0n1p1); every mount point becomes one
 *   PersistentVolume of class `local-nvme`. A database takes one through a StatefulSet.
 * - Raw block volumes: symlinks in /mnt/raw-disks point to whole disks
 *   (/dev/disk/by-id/...); each becomes one Block PersistentVolume of class `local-raw`,
 *   zeroed before it is offered to the next claim.
 */
import { App, Chart, ChartProps } from 'cdk8s';
import { k8s, PersistentVolumeMode, PersistentVolumeReclaimPolicy, TaintEffect } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BlockCleaner, LocalStaticProvisioner, TolerationOperator } from '../../src';

export class LocalDisksChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);

    const local = new LocalStaticProvisioner(this, 'local-disks', {
      namespace: 'local-storage',
      createNamespace: true,
      // Only the storage pool has the disks; its nodes are tainted to keep other work off.
      nodeSelector: { 'node.example.com/pool': 'storage' },
      tolerations: [
        { key: 'node.example.com/pool', operator: TolerationOperator.EQUAL, value: 'storage', effect: TaintEffect.NO_SCHEDULE },
      ],
    });

    const nvme = local.addStorageClass('nvme', {
      name: 'local-nvme',
      hostDir: '/mnt/fast-disks',
      namePattern: 'nvme*',
      mountOptions: ['noatime'],
    });

    local.addStorageClass('raw', {
      name: 'local-raw',
      hostDir: '/mnt/raw-disks',
      volumeMode: PersistentVolumeMode.BLOCK,
      blockCleaner: BlockCleaner.zero(1),
      // A released disk keeps its data until an administrator decides.
      reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN,
    });

    // A database on the storage pool: each replica claims its own local NVMe volume, so a
    // replica stays on the node that holds its data (the scheduler follows the volume).
    const labels = { app: 'postgres' };
    const service = new k8s.KubeService(this, 'postgres-headless', {
      spec: { clusterIp: 'None', selector: labels, ports: [{ name: 'postgres', port: 5432 }] },
    });
    new k8s.KubeStatefulSet(this, 'postgres', {
      spec: {
        serviceName: service.name,
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { 'node.example.com/pool': 'storage' },
            tolerations: [{ key: 'node.example.com/pool', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }],
            containers: [{
              name: 'postgres',
              image: 'postgres:16.4',
              ports: [{ name: 'postgres', containerPort: 5432 }],
              env: [
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'postgres-credentials', key: 'password' } } },
              ],
              resources: {
                requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('1Gi') },
                limits: { memory: k8s.Quantity.fromString('2Gi') },
              },
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
            }],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: 'data' },
          spec: {
            storageClassName: nvme.name,
            accessModes: nvme.defaultAccessModes,
            resources: { requests: { storage: k8s.Quantity.fromString('100Gi') } },
          },
        }],
      },
    });
  }
}

/** Synthesizes this example into `outdir`. */
export function synth(outdir: string): void {
  const app = new App({ outdir });
  new LocalDisksChart(app, 'local-disks');
  app.synth();
}
