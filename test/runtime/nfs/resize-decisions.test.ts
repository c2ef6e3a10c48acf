import { bound, classWithMax, NOW, PROVISIONER } from './resize-fixtures';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import {
  claimNeedsResizeWork,
  clearPatch,
  decideResize,
  failedPatch,
  finishPatch,
  infeasibleMessage,
  ResizeDecision,
  ResizeInput,
  ResizePlan,
} from '../../../src/runtime/nfs/resize';
import { shouldQueue, snapshotOf } from '../../../src/runtime/nfs/resizer';

const GI = 1024n ** 3n;

function decide(input: Partial<ResizeInput> & Pick<ResizeInput, 'claim'>): ResizeDecision {
  return decideResize({ provisionerName: PROVISIONER, now: NOW, storageClass: classWithMax(), ...input });
}

function plan(decision: ResizeDecision): ResizePlan {
  if (decision.action !== 'resize') throw new Error(`expected resize, got ${JSON.stringify(decision)}`);
  return decision.plan;
}

const resizing = (time = '2030-01-01T00:00:00Z') => ({ type: 'Resizing', status: 'True', lastTransitionTime: time as unknown as Date });
const ready = { type: 'SomethingElse', status: 'True' };

describe('decideResize: selection (step 0)', () => {
  test('a bound claim of ours asking for more gets a full plan', () => {
    const { claim, pv } = bound({ request: '3Gi', capacity: '1Gi' });
    expect(plan(decide({ claim, volume: pv }))).toEqual({
      target: 3n * GI,
      from: GI,
      mark: {
        status: {
          conditions: [{ type: 'Resizing', status: 'True', lastTransitionTime: '2030-01-02T03:04:05.000Z' }],
          allocatedResources: { storage: '3Gi' },
          allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
        },
      },
      volume: {
        metadata: { annotations: { [PV_ANNOTATIONS.sizeLimit]: '3Gi' } },
        spec: { capacity: { storage: '3Gi' } },
      },
    });
  });

  test.each([
    ['provisioned by someone else', (pv: any) => { pv.metadata.annotations[K8S.provisionedBy] = 'other.example.com/nfs'; }, 'not provisioned by us'],
    ['a static PV without the annotation', (pv: any) => { delete pv.metadata.annotations[K8S.provisionedBy]; }, 'not provisioned by us'],
    ['a CSI volume (it has its own resizer)', (pv: any) => { delete pv.spec.nfs; pv.spec.csi = { driver: 'nfs.csi.k8s.io', volumeHandle: 'x' }; }, 'not an NFS volume'],
    ['bound to another claim uid', (pv: any) => { pv.spec.claimRef.uid = 'someone-else'; }, 'not bound to this claim'],
    ['bound to a claim of another namespace', (pv: any) => { pv.spec.claimRef.namespace = 'team-b'; }, 'not bound to this claim'],
    ['without a claimRef', (pv: any) => { delete pv.spec.claimRef; }, 'not bound to this claim'],
  ])('a PV %s is never touched', (_what, mutate, reason) => {
    const { claim, pv } = bound({ request: '3Gi' });
    mutate(pv);
    expect(decide({ claim, volume: pv })).toEqual({ action: 'skip', reason: expect.stringContaining(reason) });
  });

  test.each([
    ['not Bound', (c: any) => { c.status.phase = 'Pending'; }, 'not bound'],
    ['without a volume name', (c: any) => { delete c.spec.volumeName; }, 'not bound'],
    ['being deleted', (c: any) => { c.metadata.deletionTimestamp = NOW; }, 'being deleted'],
    ['without status.capacity', (c: any) => { delete c.status.capacity; }, 'no status.capacity'],
    ['without a uid', (c: any) => { delete c.metadata.uid; }, 'no uid'],
  ])('a claim %s is skipped', (_what, mutate, reason) => {
    const { claim, pv } = bound({ request: '3Gi' });
    mutate(claim);
    expect(decide({ claim, volume: pv })).toEqual({ action: 'skip', reason: expect.stringContaining(reason) });
  });

  test('an unknown PV is skipped (the relist brings it back)', () => {
    const { claim } = bound({ request: '3Gi' });
    expect(decide({ claim })).toMatchObject({ action: 'skip', reason: expect.stringContaining('not known') });
  });
});

describe('decideResize: need (step 1)', () => {
  test.each([
    ['equal', '1Gi', '1Gi'],
    ['equal, written differently', '1024Mi', '1Gi'],
    ['equal in bytes across suffixes', '1073741824', '1Gi'],
    ['smaller (capacity larger than asked, as a bigger static PV gives)', '1Gi', '2Gi'],
  ])('nothing to do when the request is %s', (_what, request, capacity) => {
    const { claim, pv } = bound({ request, capacity });
    expect(decide({ claim, volume: pv })).toEqual({ action: 'skip', reason: 'claim has the size it asks for' });
  });

  test('one byte more is a resize', () => {
    const { claim, pv } = bound({ request: '1073741825', capacity: '1Gi' });
    expect(plan(decide({ claim, volume: pv })).target).toBe(GI + 1n);
  });

  test('up to date but with leftovers of a resize: they are cleared, other conditions kept', () => {
    const { claim, pv } = bound({ request: '2Gi', capacity: '2Gi', resizeStatus: 'ControllerResizeInProgress', conditions: [ready, resizing()] });
    expect(decide({ claim, volume: pv })).toEqual({
      action: 'clear',
      patch: { status: { conditions: [ready], allocatedResourceStatuses: null } },
    });
  });

  test('an unparsable request is reported', () => {
    const { claim, pv } = bound();
    claim.spec!.resources!.requests!.storage = 'lots';
    expect(decide({ claim, volume: pv })).toEqual({ action: 'fail', message: expect.stringContaining('"lots" is not a size') });
  });
});

describe('decideResize: target (step 2)', () => {
  test('an expansion in flight finishes at its allocated size even if the request moved', () => {
    const { claim, pv } = bound({ request: '5Gi', capacity: '1Gi', allocated: '3Gi', resizeStatus: 'ControllerResizeInProgress', conditions: [resizing()] });
    const p = plan(decide({ claim, volume: pv }));
    expect(p.target).toBe(3n * GI);
    // Already marked for 3Gi by an earlier run: no second mark.
    expect(p.mark).toBeUndefined();
  });

  test('after a failure (ControllerResizeError) the request is the target again', () => {
    const error = { type: 'ControllerResizeError', status: 'True', message: 'boom' };
    const { claim, pv } = bound({ request: '2Gi', capacity: '1Gi', allocated: '10Gi', resizeStatus: 'ControllerResizeInProgress', conditions: [error] });
    const p = plan(decide({ claim, volume: pv }));
    expect(p.target).toBe(2n * GI);
    expect(p.mark?.status.conditions).toEqual([{ type: 'Resizing', status: 'True', lastTransitionTime: NOW.toISOString() }]);
  });

  test('after ControllerResizeInfeasible a lowered request is the target', () => {
    const { claim, pv } = bound({
      request: '4Gi',
      capacity: '1Gi',
      allocated: '10Gi',
      resizeStatus: 'ControllerResizeInfeasible',
      conditions: [{ type: 'ControllerResizeError', status: 'True', message: 'too big' }],
    });
    const p = plan(decide({ claim, volume: pv, storageClass: classWithMax('5Gi') }));
    expect(p.target).toBe(4n * GI);
    expect(p.mark?.status).toMatchObject({ allocatedResources: { storage: '4Gi' }, allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' } });
    // The error condition goes; Resizing comes.
    expect(p.mark?.status.conditions?.map((c) => c.type)).toEqual(['Resizing']);
  });

  test('a stale allocation below the capacity is ignored', () => {
    const { claim, pv } = bound({ request: '3Gi', capacity: '2Gi', allocated: '2Gi', resizeStatus: 'ControllerResizeInProgress' });
    expect(plan(decide({ claim, volume: pv })).target).toBe(3n * GI);
  });
});

describe('decideResize: class maximum', () => {
  test('above the maximum: infeasible, with the maximum and the fix in the message', () => {
    const { claim, pv } = bound({ request: '10Gi', capacity: '1Gi', conditions: [ready] });
    const decision = decide({ claim, volume: pv, storageClass: classWithMax('5Gi') });
    const message = infeasibleMessage(10n * GI, 5n * GI, GI, 'nfs');
    expect(message).toBe('cannot resize to 10Gi: StorageClass "nfs" allows at most 5Gi (maxVolumeSize). '
      + 'Lower spec.resources.requests.storage to 5Gi or less (it must stay above the current 1Gi); the resize then continues');
    expect(decision).toEqual({
      action: 'infeasible',
      target: 10n * GI,
      message,
      patch: {
        status: {
          conditions: [ready, { type: 'ControllerResizeError', status: 'True', lastTransitionTime: NOW.toISOString(), message }],
          allocatedResourceStatuses: { storage: 'ControllerResizeInfeasible' },
        },
      },
    });
  });

  test('an infeasible state already on the claim is not written again', () => {
    const message = infeasibleMessage(10n * GI, 5n * GI, GI, 'nfs');
    const { claim, pv } = bound({
      request: '10Gi',
      capacity: '1Gi',
      resizeStatus: 'ControllerResizeInfeasible',
      conditions: [{ type: 'ControllerResizeError', status: 'True', message }],
    });
    expect(decide({ claim, volume: pv, storageClass: classWithMax('5Gi') })).toEqual({ action: 'infeasible', target: 10n * GI, message, patch: undefined });
  });

  test('exactly the maximum is allowed', () => {
    const { claim, pv } = bound({ request: '5Gi' });
    expect(plan(decide({ claim, volume: pv, storageClass: classWithMax('5Gi') })).target).toBe(5n * GI);
  });

  test('a class of another provisioner, or a missing class, sets no maximum', () => {
    const { claim, pv } = bound({ request: '100Gi' });
    const foreign = { ...classWithMax('5Gi'), provisioner: 'other.example.com/x' };
    expect(decide({ claim, volume: pv, storageClass: foreign }).action).toBe('resize');
    expect(decide({ claim, volume: pv, storageClass: undefined }).action).toBe('resize');
  });

  test('a class whose parameters cannot be read is reported', () => {
    const { claim, pv } = bound({ request: '2Gi' });
    const broken = classWithMax();
    broken.parameters = { maxVolumeSize: 'huge' };
    expect(decide({ claim, volume: pv, storageClass: broken })).toEqual({ action: 'fail', message: expect.stringContaining('maxVolumeSize "huge"') });
  });
});

describe('decideResize: crash safety (each step skipped when done)', () => {
  test('marked before a crash: no second mark, the PV and the finish remain', () => {
    const { claim, pv } = bound({ request: '3Gi', capacity: '1Gi', allocated: '3Gi', resizeStatus: 'ControllerResizeInProgress', conditions: [resizing()] });
    const p = plan(decide({ claim, volume: pv }));
    expect(p.mark).toBeUndefined();
    expect(p.volume).toBeDefined();
  });

  test('PV patched before a crash: only the finish remains', () => {
    const { claim, pv } = bound({ request: '3Gi', capacity: '1Gi', allocated: '3Gi', resizeStatus: 'ControllerResizeInProgress', conditions: [resizing()] });
    pv.spec!.capacity = { storage: '3072Mi' };
    pv.metadata!.annotations![PV_ANNOTATIONS.sizeLimit] = '3Gi';
    const p = plan(decide({ claim, volume: pv }));
    expect(p).toEqual({ target: 3n * GI, from: GI, mark: undefined, volume: undefined });
  });

  test('a PV with the capacity but no recorded size is patched again (the record is part of the step)', () => {
    const { claim, pv } = bound({ request: '3Gi', capacity: '1Gi' });
    pv.spec!.capacity = { storage: '3Gi' };
    expect(plan(decide({ claim, volume: pv })).volume).toBeDefined();
  });

  test('a repeated mark keeps the time the resize started', () => {
    const { claim, pv } = bound({ request: '3Gi', capacity: '1Gi', allocated: '2Gi', resizeStatus: 'ControllerResizeInProgress', conditions: [resizing('2029-12-31T00:00:00Z')] });
    claim.status!.allocatedResources = { storage: '1Gi' };
    const p = plan(decide({ claim, volume: pv }));
    expect(p.mark?.status.conditions).toEqual([{ type: 'Resizing', status: 'True', lastTransitionTime: '2029-12-31T00:00:00Z' }]);
  });
});

describe('a failed grow (failedPatch) and what follows it', () => {
  const marked = (extra: object[] = []) => bound({
    request: '3Gi',
    capacity: '1Gi',
    allocated: '3Gi',
    resizeStatus: 'ControllerResizeInProgress',
    conditions: [ready, resizing(), ...extra as any[]],
  });
  const failure = (message: string, time = '2030-01-01T12:00:00Z') =>
    ({ type: 'ControllerResizeError', status: 'True', lastTransitionTime: time as unknown as Date, message });

  test('adds ControllerResizeError with the message and now; keeps Resizing and the other conditions; leaves the in-progress status', () => {
    const { claim } = marked();
    expect(failedPatch(claim, 'resize volume "pvc-1" failed: disk full', NOW)).toEqual({
      status: { conditions: [ready, resizing(), { type: 'ControllerResizeError', status: 'True', lastTransitionTime: NOW.toISOString(), message: 'resize volume "pvc-1" failed: disk full' }] },
    });
  });

  test('the same failure again writes nothing', () => {
    const { claim } = marked([failure('disk full')]);
    expect(failedPatch(claim, 'disk full', NOW)).toBeUndefined();
  });

  test('another failure replaces the message in place and keeps the time the condition became True', () => {
    const { claim } = marked([failure('disk full')]);
    expect(failedPatch(claim, 'API down', NOW)?.status.conditions).toEqual([ready, resizing(), failure('API down')]);
  });

  test('an error condition that is not True becomes True now', () => {
    const { claim } = marked([{ ...failure('old'), status: 'False' }]);
    expect(failedPatch(claim, 'old', NOW)?.status.conditions?.at(-1)).toEqual(failure('old', NOW.toISOString()));
  });

  test('the retry at the same request is not marked again: it grows and the finish removes the error', () => {
    const { claim, pv } = marked([failure('disk full')]);
    const p = plan(decide({ claim, volume: pv }));
    expect(p.target).toBe(3n * GI);
    expect(p.mark).toBeUndefined();
    expect(finishPatch(claim, p.target).status.conditions).toEqual([ready]);
  });

  test('the user lowering the request (still above the capacity) retries at the lower size; the new mark replaces the error', () => {
    const { claim, pv } = marked([failure('disk full')]);
    claim.spec!.resources!.requests = { storage: '2Gi' };
    const p = plan(decide({ claim, volume: pv }));
    expect(p.target).toBe(2n * GI);
    expect(p.mark?.status).toEqual({
      conditions: [ready, resizing()],
      allocatedResources: { storage: '2Gi' },
      allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
    });
  });

  test('the user lowering the request back to the capacity clears the error and the in-progress status', () => {
    const { claim, pv } = marked([failure('disk full')]);
    claim.spec!.resources!.requests = { storage: '1Gi' };
    expect(decide({ claim, volume: pv })).toEqual({ action: 'clear', patch: { status: { conditions: [ready], allocatedResourceStatuses: null } } });
  });
});

describe('finish and clear patches', () => {
  test('finish: capacity, no resize conditions, no in-progress status, node step not required', () => {
    const { claim } = bound({
      request: '3Gi',
      allocated: '3Gi',
      resizeStatus: 'ControllerResizeInProgress',
      conditions: [ready, resizing(), { type: 'FileSystemResizePending', status: 'True' }],
    });
    expect(finishPatch(claim, 3n * GI)).toEqual({
      metadata: { annotations: { [K8S.nodeExpansionNotRequired]: 'true' } },
      status: { capacity: { storage: '3Gi' }, conditions: [ready], allocatedResourceStatuses: null },
    });
  });

  test('another resource\'s resize status is kept: only the storage key is removed', () => {
    const { claim } = bound();
    claim.status!.allocatedResourceStatuses = { 'storage': 'ControllerResizeInProgress', 'example.com/iops': 'ControllerResizeInProgress' };
    expect(clearPatch(claim).status.allocatedResourceStatuses).toEqual({ storage: null });
  });

  test('sizes are written as exact, canonical quantities', () => {
    const { claim } = bound();
    expect(finishPatch(claim, 1536n * 1024n * 1024n).status.capacity).toEqual({ storage: '1536Mi' });
    expect(finishPatch(claim, 3_000_000_000n).status.capacity).toEqual({ storage: '3G' });
  });
});

describe('the informer filter', () => {
  test('claimNeedsResizeWork: more requested, or resize state left', () => {
    expect(claimNeedsResizeWork(bound({ request: '2Gi' }).claim)).toBe(true);
    expect(claimNeedsResizeWork(bound().claim)).toBe(false);
    expect(claimNeedsResizeWork(bound({ conditions: [resizing()] }).claim)).toBe(true);
    expect(claimNeedsResizeWork(bound({ resizeStatus: 'ControllerResizeInfeasible' }).claim)).toBe(true);
    const pending = bound({ request: '2Gi' }).claim;
    pending.status!.phase = 'Pending';
    expect(claimNeedsResizeWork(pending)).toBe(false);
  });

  test('queued when new, when the request grew, when the status changed, on a resync; not for metadata changes', () => {
    const before = bound({ request: '2Gi', resourceVersion: '5' }).claim;
    const snap = snapshotOf(before);
    expect(shouldQueue(undefined, before)).toBe(true);
    // A resync replays the same object.
    expect(shouldQueue(snap, before)).toBe(true);
    // An annotation written by the usage pass: same request, same status.
    const annotated = { ...before, metadata: { ...before.metadata, resourceVersion: '6', annotations: { x: 'y' } } };
    expect(shouldQueue(snap, annotated)).toBe(false);
    const grown = bound({ request: '3Gi', resourceVersion: '6' }).claim;
    expect(shouldQueue(snap, grown)).toBe(true);
    const marked = bound({ request: '2Gi', resourceVersion: '6', resizeStatus: 'ControllerResizeInProgress' }).claim;
    expect(shouldQueue(snap, marked)).toBe(true);
    // Nothing to do: never queued, whatever changed.
    expect(shouldQueue(snap, bound({ resourceVersion: '7' }).claim)).toBe(false);
  });
});
