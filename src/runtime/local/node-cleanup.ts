/**
 * The opt-in node-deletion role. When a Node object is deleted its agent is gone too, so
 * nobody withdraws its PVs and the scheduler keeps offering volumes on a node that does not
 * exist. This role, run once per cluster, deletes the Available ones (they hold no data; if
 * the node comes back, its agent republishes them) and reports the others: a bound PV's
 * data lived on that node, and a Released one still needs its wipe if the node returns.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { EventDeduper } from './event-dedup';
import { isLocalAgentPv } from './pv';
import { LOCAL_REASONS } from './reasons';
import { LABELS, LOCAL_PV_ANNOTATIONS } from '../../contract/keys';
import type { LocalLogger, NodeCleanupPort } from '../ports/local';

export type NodeCleanupAction =
  | { readonly type: 'delete'; readonly pv: V1PersistentVolume; readonly nodeName: string }
  | { readonly type: 'report'; readonly pv: V1PersistentVolume; readonly nodeName: string; readonly message: string };

/** Pure: the PVs published by agents of nodes that no longer exist, and what to do with each. */
export function planNodeCleanup(pvs: readonly V1PersistentVolume[], nodeNames: ReadonlySet<string>): NodeCleanupAction[] {
  const actions: NodeCleanupAction[] = [];
  for (const pv of pvs) {
    if (!isLocalAgentPv(pv) || pv.metadata?.deletionTimestamp) continue;
    const nodeName = pv.metadata!.annotations![LOCAL_PV_ANNOTATIONS.node];
    if (nodeNames.has(nodeName)) continue;
    const name = pv.metadata?.name ?? '';
    const phase = pv.status?.phase;
    if (!pv.spec?.claimRef && (phase === undefined || phase === 'Available')) {
      actions.push({ type: 'delete', pv, nodeName });
      continue;
    }
    const claim = pv.spec?.claimRef ? `${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name}` : 'no claim';
    const message = phase === 'Released'
      ? `node ${nodeName} of PV ${name} was deleted, so the volume cannot be wiped. If the node comes back, its agent wipes and republishes it; if not, delete the PV by hand`
      : `node ${nodeName} of PV ${name} (${phase ?? 'unknown phase'}, ${claim}) was deleted; the data lived on that node. Delete the claim and recreate its pod to get a volume elsewhere, then delete the PV`;
    actions.push({ type: 'report', pv, nodeName, message });
  }
  return actions;
}

/** Runs {@link planNodeCleanup} against the API; call it on Node deletions and periodically. */
export class NodeCleanupRole {
  private readonly events: EventDeduper;

  constructor(private readonly port: NodeCleanupPort, private readonly log: LocalLogger) {
    this.events = new EventDeduper(port, log);
  }

  public async runOnce(): Promise<{ deleted: string[]; reported: string[] }> {
    // Nodes are listed after PVs: a PV published by a node that registered in between is
    // then seen with its node present, never the other way round.
    const pvs = await this.port.listPVs(LABELS.localNode);
    const nodes = new Set(await this.port.listNodeNames());
    const result = { deleted: [] as string[], reported: [] as string[] };
    this.events.beginRound();
    for (const action of planNodeCleanup(pvs, nodes)) {
      const name = action.pv.metadata!.name!;
      const ref = { kind: 'PersistentVolume' as const, name, uid: action.pv.metadata?.uid };
      if (action.type === 'report') {
        await this.events.emit(ref, 'Warning', LOCAL_REASONS.nodeGone, action.message);
        result.reported.push(name);
        continue;
      }
      const outcome = await this.port.deletePV(name, { uid: action.pv.metadata!.uid!, resourceVersion: action.pv.metadata?.resourceVersion });
      if (outcome === 'conflict') continue; // changed (bound?) since listed; the next run decides again
      this.log.info(`deleted Available PV ${name} of deleted node ${action.nodeName}`, { reason: LOCAL_REASONS.nodeGoneDeleted, pv: name });
      if (outcome === 'deleted') {
        await this.port.event({ kind: 'PersistentVolume', name, uid: action.pv.metadata?.uid }, 'Normal', LOCAL_REASONS.nodeGoneDeleted,
          `node ${action.nodeName} was deleted; removed its unused PV ${name}`);
        result.deleted.push(name);
      }
    }
    this.events.endRound();
    return result;
  }
}
