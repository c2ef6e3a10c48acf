import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/** Every ApiObject of a kind in the whole app (the tree under the root of `scope`). */
export function apiObjectsInApp(scope: IConstruct, kind: string): ApiObject[] {
  return scope.node.root.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && c.kind === kind);
}
