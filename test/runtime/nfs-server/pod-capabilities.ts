/**
 * The capabilities the construct gives the in-cluster server's container for a quota mode,
 * read from a synthesized StatefulSet, so tests run the server with exactly what a pod gets.
 */
import { Testing } from 'cdk8s';
import { NfsProvisioner, NfsQuota, NfsServer } from '../../../src';
import { one, synthValid } from '../../util/synth';

/** `capabilities.add` of the server container (its `drop` is ALL) for `quota`. */
export function serverCapabilities(quota: NfsQuota): string[] {
  const chart = Testing.chart();
  new NfsProvisioner(chart, 'nfs', { server: NfsServer.inCluster({ quota }), provisionerName: 'example.com/nfs-server' });
  const security = one(synthValid(chart), 'StatefulSet').spec.template.spec.containers[0].securityContext;
  if (security.capabilities?.drop?.[0] !== 'ALL') throw new Error(`the ${quota} server container does not drop ALL capabilities: ${JSON.stringify(security)}`);
  return security.capabilities.add;
}
