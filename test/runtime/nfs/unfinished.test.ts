import { claim, PROVISIONER } from './fixtures';
import { decideUnfinished, UnfinishedInput } from '../../../src/runtime/nfs/unfinished';

/** A note for the claim `ns/data` (uid u1) whose directory was made, nothing else known. */
function input(overrides: Partial<UnfinishedInput> = {}): UnfinishedInput {
  return {
    note: { pvName: 'pvc-u1', relativePath: 'ns/data' },
    claim: claim({ uid: 'u1', namespace: 'ns', name: 'data' }),
    volumeExists: false,
    inFlight: false,
    provisionerName: PROVISIONER,
    ...overrides,
  };
}

describe('a provisioning note left by an earlier run', () => {
  test('a claim still waiting for its volume takes the note over, so its later deletion removes the directory', () => {
    expect(decideUnfinished(input())).toEqual({ action: 'track', relativePath: 'ns/data', namespace: 'ns', name: 'data' });
  });

  test('a claim that is gone, being deleted, bound elsewhere or no longer ours: the directory is removed if empty', () => {
    const waiting = claim({ uid: 'u1', namespace: 'ns', name: 'data' });
    const cases: Array<[UnfinishedInput['claim'], RegExp]> = [
      [undefined, /claim is gone/],
      [{ ...waiting, metadata: { ...waiting.metadata, deletionTimestamp: new Date() } }, /being deleted/],
      [{ ...waiting, spec: { ...waiting.spec, volumeName: 'pv-static' } }, /bound to PersistentVolume pv-static/],
      [claim({ uid: 'u1', namespace: 'ns', name: 'data', provisioner: 'other.io/nfs' }), /another provisioner/],
    ];
    for (const [c, reason] of cases) {
      const decision = decideUnfinished(input({ claim: c }));
      expect(decision).toEqual({ action: 'remove', relativePath: 'ns/data', reason: expect.stringMatching(reason) });
    }
  });

  test('a volume that exists, or a directory another volume uses now, only loses the note', () => {
    expect(decideUnfinished(input({ volumeExists: true, claim: undefined }))).toEqual({ action: 'forget', reason: expect.stringMatching(/PersistentVolume exists/) });
    const owner = { pvName: 'pvc-new', relativePath: 'ns/data' };
    expect(decideUnfinished(input({ owner, claim: undefined }))).toEqual({ action: 'forget', reason: 'PersistentVolume pvc-new uses ns/data now' });
  });

  test('a note whose write never completed names no directory: nothing was made, so only the note goes', () => {
    expect(decideUnfinished(input({ note: { pvName: 'pvc-u1' }, claim: undefined }))).toEqual({ action: 'forget', reason: expect.stringMatching(/never completed/) });
  });

  test('a volume this process is provisioning right now is left to that run, whatever the caches say', () => {
    for (const c of [undefined, claim({ uid: 'u1', namespace: 'ns', name: 'data' })]) {
      expect(decideUnfinished(input({ inFlight: true, claim: c }))).toEqual({ action: 'skip', reason: expect.any(String) });
    }
  });
});
