/**
 * The node agent: runs discovery and cleanup passes for one node against a LocalKubePort.
 *
 * Passes are serial (one at a time, requests during a pass coalesce into one more) and
 * level-triggered: each lists this node's PVs and the discovery directories afresh, so a
 * crash at any point is completed by the next pass. Block cleaners can run for hours, so
 * wipes run in the background, bounded, one per PV; a wiped PV is deleted and the next
 * pass republishes its entry under the same name.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { CleanupDecision, cleanVolume, planCleanup } from './cleanup';
import { SYSFS } from './device';
import { DiscoveryAction, planDiscovery } from './discovery';
import { EventDeduper } from './event-dedup';
import { MountTable, SELF_MOUNTINFO } from './mountinfo';
import { isOwnedBy, LocalAgentIdentity, LocalNode, nodeSelector } from './pv';
import { LOCAL_REASONS } from './reasons';
import { scanDirectory } from './scan';
import { DiscoveryTrigger } from './watch';
import type { LocalAgentConfig } from '../../contract/controller-config';
import { K8S } from '../../contract/keys';
import type { CommandRunner } from '../core/command';
import { forEachLimited } from '../core/limiter';
import type { LocalKubePort, LocalLogger, LocalObjectRef, PvChange } from '../ports/local';

export interface LocalAgentOptions {
  readonly nodeName: string;
  readonly config: LocalAgentConfig;
  readonly port: LocalKubePort;
  readonly log: LocalLogger;
  /** Default /proc/self/mountinfo. */
  readonly mountinfoPath?: string;
  /** Default /sys. */
  readonly sysRoot?: string;
  /** Runs the block cleaners' programs (tests may wrap it). */
  readonly run?: CommandRunner;
  /** Full pass even without any trigger; default 60 s. */
  readonly resyncMs?: number;
  /** mountinfo poll interval; default 1000 ms. */
  readonly pollMs?: number;
  /** Quiet time before a triggered pass; default 250 ms. */
  readonly debounceMs?: number;
  /** Wipes running at once; default 2. */
  readonly maxConcurrentCleanups?: number;
  /** A failed wipe is not retried sooner than this; default 60 s. */
  readonly cleanupRetryMs?: number;
  /** PV creates in flight at once within a pass; default 8. */
  readonly maxConcurrentCreates?: number;
  /** Told about every publication and wipe (for metrics). */
  readonly onOperation?: (kind: 'publish' | 'wipe', ok: boolean, seconds: number) => void;
}

/** What one pass did (for logs, metrics and tests). */
export interface PassReport {
  readonly created: string[];
  readonly withdrawn: string[];
  readonly cleanupsStarted: string[];
  readonly errors: string[];
  /**
   * Classes whose discovery directory could not be read on this node (missing, not a
   * directory, no permission), each with why. The other classes are served: a node that
   * lacks one class's disks is not a failing agent, so these leave the agent ready.
   */
  readonly unavailableClasses: string[];
}

export interface LocalAgentStatus {
  /** True once a pass completed without errors, until one fails. */
  readonly ready: boolean;
  readonly lastPassAt?: Date;
  readonly lastError?: string;
  readonly cleaning: string[];
}

export class LocalAgent {
  private readonly events: EventDeduper;
  private readonly trigger: DiscoveryTrigger;
  private readonly identity: LocalAgentIdentity;
  private readonly cleanups = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();
  private node?: { value: LocalNode; readAt: number };
  private queued?: Promise<PassReport>;
  /** Why the queued pass was requested. */
  private readonly reasons = new Set<string>();
  private current: Promise<unknown> = Promise.resolve();
  private resync?: NodeJS.Timeout;
  private stopWatch?: () => void;
  private stopped = false;
  /** The errors of the last logged failing pass ('' when the last pass succeeded). */
  private loggedFailure = '';
  /** The unavailable classes last logged ('' when every class was readable). */
  private loggedUnavailable = '';
  private state: { ready: boolean; lastPassAt?: Date; lastError?: string } = { ready: false };

  constructor(private readonly options: LocalAgentOptions) {
    this.events = new EventDeduper(options.port, options.log);
    this.identity = {
      nodeName: options.nodeName,
      ...(options.config.provisioner !== undefined ? { provisioner: options.config.provisioner } : {}),
      ...(options.config.formerProvisioner !== undefined ? { formerProvisioner: options.config.formerProvisioner } : {}),
      classes: new Set(options.config.classes.map(c => c.storageClassName)),
    };
    this.trigger = new DiscoveryTrigger({
      dirs: options.config.classes.map(c => c.mountDir),
      mountinfoPath: options.mountinfoPath,
      pollMs: options.pollMs,
      debounceMs: options.debounceMs,
      onTrigger: why => this.request(why),
    });
  }

  /** Starts watching and runs the first pass (its failure is logged and retried, not thrown). */
  public async start(): Promise<void> {
    this.stopped = false;
    await this.trigger.start();
    this.stopWatch = this.options.port.watchPVs(nodeSelector(this.options.nodeName), change => {
      if (needsPass(change)) this.trigger.fire('pv');
    });
    this.resync = setInterval(() => this.request('resync'), this.options.resyncMs ?? 60_000);
    this.resync.unref();
    this.request('start');
  }

  /** Stops triggering passes and waits for the current one. Running wipes are left to finish or die with the process (they are redone on restart). */
  public async stop(): Promise<void> {
    this.stopped = true;
    this.trigger.stop();
    this.stopWatch?.();
    if (this.resync) clearInterval(this.resync);
    await this.current.catch(() => undefined);
  }

  public status(): LocalAgentStatus {
    return { ...this.state, cleaning: [...this.cleanups.keys()] };
  }

  /** Runs a pass (coalesced with one already queued); `why` is logged with what it did. */
  public pass(why = 'manual'): Promise<PassReport> {
    this.reasons.add(why);
    if (this.queued) return this.queued;
    const next = this.current.catch(() => undefined).then(() => {
      this.queued = undefined;
      const trigger = [...this.reasons].join(',');
      this.reasons.clear();
      return this.runPass(trigger);
    });
    this.queued = next;
    this.current = next;
    return next;
  }

  /** Resolves when no pass is queued or running and no wipe is in flight (tests, shutdown). */
  public async settle(): Promise<void> {
    for (;;) {
      await this.current.catch(() => undefined);
      if (this.cleanups.size === 0 && !this.queued) return;
      await Promise.all(this.cleanups.values());
    }
  }

  private request(why: string): void {
    if (this.stopped) return;
    this.pass(why).catch(err => this.options.log.error(`local discovery pass failed: ${(err as Error).message}`, { trigger: why }));
  }

  /** Logs a pass once (however many requests it served): what it did, and failures once each. */
  private logPass(report: PassReport, trigger: string): void {
    if (report.created.length + report.withdrawn.length + report.cleanupsStarted.length > 0) {
      this.options.log.info('local discovery pass', { trigger, ...report });
    }
    // A failing pass (the API refusing a call, an unreadable directory) is otherwise
    // visible only on /readyz: log it, once per distinct failure, and the recovery.
    const failure = report.errors.join('; ');
    if (failure !== this.loggedFailure) {
      if (failure) this.options.log.error(`local discovery pass failed: ${failure}`, { trigger });
      else this.options.log.info('local discovery pass succeeded again', { trigger });
      this.loggedFailure = failure;
    }
    const unavailable = report.unavailableClasses.join('; ');
    if (unavailable !== this.loggedUnavailable) {
      if (unavailable) this.options.log.warn(`local discovery skips classes on this node, serving the others: ${unavailable}`, { trigger });
      else this.options.log.info('local discovery serves every class again', { trigger });
      this.loggedUnavailable = unavailable;
    }
  }

  private async runPass(trigger: string): Promise<PassReport> {
    const report: PassReport = { created: [], withdrawn: [], cleanupsStarted: [], errors: [], unavailableClasses: [] };
    try {
      const node = await this.readNode();
      const { table: mounts, text } = await MountTable.readWithText(this.options.mountinfoPath ?? SELF_MOUNTINFO);
      this.trigger.observed(text);
      // The node's label selects the PVs of every provisioner's agent on it: keep this one's.
      const pvs = (await this.options.port.listPVs(nodeSelector(node.name))).filter(pv => isOwnedBy(pv, this.identity));
      this.events.beginRound();
      this.startCleanups(planCleanup(pvs, this.options.config), report);
      await this.discover(node, mounts, pvs, report);
      this.events.endRound();
    } catch (err) {
      report.errors.push((err as Error).message);
    }
    this.state = {
      ready: report.errors.length === 0,
      lastPassAt: new Date(),
      ...(report.errors.length > 0 ? { lastError: report.errors.join('; ') } : {}),
    };
    this.logPass(report, trigger);
    return report;
  }

  /** The Node, re-read at most once per resync interval (its hostname label rarely changes). */
  private async readNode(): Promise<LocalNode> {
    const maxAge = this.options.resyncMs ?? 60_000;
    if (this.node && Date.now() - this.node.readAt < maxAge) return this.node.value;
    const name = this.options.nodeName;
    const node = await this.options.port.getNode(name);
    if (!node) throw new Error(`node ${name} does not exist; check the NODE_NAME env (spec.nodeName through the downward API)`);
    const hostname = node.metadata?.labels?.[K8S.hostnameLabel];
    if (!hostname) throw new Error(`node ${name} has no ${K8S.hostnameLabel} label, which local PVs' node affinity needs; label the node`);
    this.node = { value: { name, hostname }, readAt: Date.now() };
    return this.node.value;
  }

  private async discover(node: LocalNode, mounts: MountTable, pvs: V1PersistentVolume[], report: PassReport): Promise<void> {
    const { port, config } = this.options;
    const nodeRef: LocalObjectRef = { kind: 'Node', name: node.name };
    const pathsInUse = new Map<string, string>();
    for (const pv of pvs) if (pv.spec?.local?.path) pathsInUse.set(pv.spec.local.path, pv.metadata!.name!);

    for (const cls of config.classes) {
      let scan;
      try {
        scan = await scanDirectory(cls.mountDir, mounts, this.options.sysRoot ?? SYSFS);
      } catch (err) {
        const message = `cannot read ${cls.mountDir} (host ${cls.hostDir}) of class ${cls.storageClassName}: ${(err as Error).message}`;
        report.unavailableClasses.push(message);
        await this.events.emit(nodeRef, 'Warning', LOCAL_REASONS.discoveryFailed, message, { subject: cls.storageClassName });
        continue;
      }
      const creates: Array<Extract<DiscoveryAction, { type: 'create' }>> = [];
      for (const action of planDiscovery({ cls, node, provisioner: config.provisioner, scan, mounts, existing: pvs, pathsInUse })) {
        switch (action.type) {
          case 'create':
            // Being wiped: its old PV may already be gone from a cache; publish after the wipe.
            if (!this.cleanups.has(action.pv.metadata!.name!)) creates.push(action);
            break;
          case 'withdraw': {
            const md = action.pv.metadata!;
            const outcome = await port.deletePV(md.name!, { uid: md.uid!, resourceVersion: md.resourceVersion });
            if (outcome === 'conflict') break; // bound or changed meanwhile; the next pass decides again
            report.withdrawn.push(md.name!);
            await this.events.emit(nodeRef, 'Warning', action.reason, action.message, { subject: md.name });
            break;
          }
          case 'report':
            await this.events.emit(pvRef(action.pv), 'Warning', action.reason, action.message);
            break;
          case 'skip':
            await this.events.emit(nodeRef, 'Warning', action.reason, action.message, { subject: `${cls.storageClassName}/${action.entry}` });
            break;
        }
      }
      // Creates are independent of each other (planDiscovery gave each its own path), and the
      // API server commits concurrent writes together: a disk shelf of hundreds of volumes is
      // published in a fraction of the time serial creates take.
      await forEachLimited(creates, Math.max(1, this.options.maxConcurrentCreates ?? 8), async action => {
        const name = action.pv.metadata!.name!;
        if (await port.createPV(action.pv) === 'created') {
          report.created.push(name);
          this.options.onOperation?.('publish', true, 0);
          pathsInUse.set(action.pv.spec!.local!.path, name);
          return;
        }
        // Ours already, and the PV list was a step behind: nothing to say.
        const existing = await port.getPV(name);
        if (existing && isOwnedBy(existing, this.identity)) return;
        await this.events.emit(nodeRef, 'Warning', LOCAL_REASONS.nameTaken,
          `cannot publish ${cls.hostDir}/${action.entry}: a PV named ${name} exists but was not published by this agent; delete or rename it`,
          { subject: `${cls.storageClassName}/${action.entry}` });
      });
    }
  }

  private startCleanups(decisions: CleanupDecision[], report: PassReport): void {
    const retryMs = this.options.cleanupRetryMs ?? 60_000;
    for (const decision of decisions) {
      const name = decision.pv.metadata!.name!;
      if (decision.type === 'report') {
        void this.events.emit(pvRef(decision.pv), 'Warning', decision.reason, decision.message);
        continue;
      }
      if (this.cleanups.has(name)) continue;
      if (this.cleanups.size >= (this.options.maxConcurrentCleanups ?? 2)) continue;
      const failed = this.failedAt.get(name);
      if (failed !== undefined && Date.now() - failed < retryMs) continue;
      report.cleanupsStarted.push(name);
      const task = this.cleanup(decision).then(outcome => {
        this.cleanups.delete(name);
        // Done: republish now. Failed: look again after the retry interval, not in a hot loop.
        // Skipped (the list was behind the API server): the PV watch brings the next pass.
        if (outcome === 'done') this.request('cleanup-done');
        else if (outcome === 'failed') setTimeout(() => this.request('cleanup-retry'), retryMs).unref();
      });
      this.cleanups.set(name, task);
    }
  }

  /** Wipes, then deletes the PV. */
  private async cleanup(decision: Extract<CleanupDecision, { type: 'clean' }>): Promise<'done' | 'failed' | 'skipped'> {
    const { port, log } = this.options;
    const ref = pvRef(decision.pv);
    const name = ref.name;
    // The PV list may come from a cache a step behind: wipe only what the API server says is
    // still this Released PV, never a volume that was already republished and handed out.
    const current = await port.getPV(name);
    if (!current || current.metadata?.uid !== decision.pv.metadata?.uid || current.status?.phase !== 'Released' || current.metadata?.deletionTimestamp) {
      return 'skipped';
    }
    const started = Date.now();
    const result = await cleanVolume(decision, {
      mounts: () => MountTable.read(this.options.mountinfoPath ?? SELF_MOUNTINFO),
      sysRoot: this.options.sysRoot,
      run: this.options.run,
      onStart: message => void this.events.emit(ref, 'Normal', LOCAL_REASONS.cleanupStarted, message, { sticky: true }),
    });
    this.options.onOperation?.('wipe', result.ok, (Date.now() - started) / 1000);
    if (!result.ok) {
      this.failedAt.set(name, Date.now());
      await this.events.emit(ref, 'Warning', LOCAL_REASONS.cleanupFailed, result.message, { sticky: true });
      return 'failed';
    }
    this.failedAt.delete(name);
    this.events.forget(ref);
    // Re-read the PV from the API server: delete only the PV that was wiped, still Released.
    const fresh = await port.getPV(name);
    if (!fresh || fresh.metadata?.uid !== decision.pv.metadata?.uid) return 'done';
    if (fresh.status?.phase !== 'Released') {
      log.warn(`PV ${name} was wiped but is ${fresh.status?.phase ?? 'in an unknown phase'} now; not deleting it`, { pv: name });
      return 'done';
    }
    await port.event(ref, 'Normal', LOCAL_REASONS.cleaned, `${result.message}; deleting PV ${name}, the volume is republished`);
    const outcome = await port.deletePV(name, { uid: fresh.metadata!.uid!, resourceVersion: fresh.metadata?.resourceVersion });
    log.info(`cleanup of PV ${name}: ${result.message}; delete: ${outcome}`, { pv: name, reason: LOCAL_REASONS.cleaned });
    return 'done';
  }
}

/**
 * Whether a PV watch event can change what a pass does. Status updates of the PVs this agent
 * just published (Pending -> Available -> Bound, hundreds at once after a burst of mounts)
 * cannot; a PV that was released (to wipe) or deleted (to republish) can. Everything else is
 * caught by the periodic resync.
 */
export function needsPass(change: PvChange | undefined): boolean {
  if (!change || change.deleted) return true;
  return change.pv.status?.phase === 'Released';
}

function pvRef(pv: V1PersistentVolume): LocalObjectRef {
  return { kind: 'PersistentVolume', name: pv.metadata!.name!, uid: pv.metadata?.uid };
}
