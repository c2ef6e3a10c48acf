import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { AppIndex } from './app-index';

/** Every ApiObject of a kind in the whole app (the tree under the root of `scope`), by one walk of it. */
export function apiObjectsInApp(scope: IConstruct, kind: string): ApiObject[] {
  return [...new AppIndex(scope.node.root).apiObjects(kind)];
}

/** Per app (by its root): what its checks read. */
interface AppChecks {
  /** What construction-time checks read: the tree at the first check, plus the checked scopes since. */
  readonly index: AppIndex;
  /** Scopes whose check ran; indexed at the next check, so what they built after it is in too. */
  readonly pending: IConstruct[];
  /** The whole tree as the current synth found it. */
  synthIndex?: AppIndex;
}

const apps = new WeakMap<IConstruct, AppChecks>();

function checksOf(scope: IConstruct): AppChecks {
  const root = scope.node.root;
  let checks = apps.get(root);
  if (!checks) {
    const state: AppChecks = { index: new AppIndex(root), pending: [] };
    // On the root, so first in a synth's validation (cdk8s validates the tree in preorder):
    // one walk of the app per synth, which every check of that synth then reads.
    root.node.addValidation({
      validate: () => {
        state.synthIndex = new AppIndex(root);
        return [];
      },
    });
    apps.set(root, state);
    checks = state;
  }
  return checks;
}

/**
 * An app-wide rule (a name used once in the app, say), given as a function that lists what
 * breaks it, reading the app's constructs from an index (one walk of the tree per app and
 * per synth, not one per check). Checked now, so the error is thrown where the construct is
 * made, and again when the app is synthesized, so objects added after the construct (a
 * plain ApiObject, a class of a later chart) are checked too.
 *
 * Now, the index holds the tree as it was at the app's first check, every construct a
 * checked construct built, and whatever was added beside the construct or one of its
 * parents (a plain ApiObject in its chart); a plain ApiObject added elsewhere (in another
 * chart) after the app's first check is caught at synth rather than here.
 */
export function checkNowAndAtSynth(scope: IConstruct, check: (app: AppIndex) => string[]): void {
  const checks = checksOf(scope);
  for (const done of checks.pending.splice(0)) checks.index.add(done);
  // What was added beside the construct or its parents since (a plain ApiObject in its
  // chart, say): a look at the direct children along its path, not a walk of the tree.
  for (const ancestor of scope.node.scopes) checks.index.addNewChildren(ancestor);
  const found = check(checks.index);
  if (found.length > 0) throw new Error(found[0]);
  checks.pending.push(scope);
  scope.node.addValidation({ validate: () => check(checks.synthIndex ?? new AppIndex(scope.node.root)) });
}
