import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/** Every ApiObject of a kind in the whole app (the tree under the root of `scope`). */
export function apiObjectsInApp(scope: IConstruct, kind: string): ApiObject[] {
  return scope.node.root.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && c.kind === kind);
}

/**
 * An app-wide rule (a name used once in the app, say), given as a function that lists what
 * breaks it. Checked now, so the error is thrown where the construct is made, and again
 * when the app is synthesized, so objects added after the construct (a plain ApiObject, a
 * class of a later chart) are checked too.
 */
export function checkNowAndAtSynth(scope: IConstruct, check: () => string[]): void {
  const found = check();
  if (found.length > 0) throw new Error(found[0]);
  scope.node.addValidation({ validate: check });
}
