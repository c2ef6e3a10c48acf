/**
 * The workloads the constructs expose (`NfsProvisioner.deployment`,
 * `LocalStaticProvisioner.daemonSet`) are the users' escape hatch: they patch them with
 * `addJsonPatch`. A generated `k8s.Kube*` class runs its typed serialiser over the object
 * *after* the patches, so a patch with plain JSON where the types expect a class (`cpu: "1"`
 * rather than `k8s.Quantity.fromString("1")`, `port: 8080` rather than an IntOrString)
 * comes out as `null` or not at all. These objects are serialised once, up front, so
 * patches apply to that JSON as given; and a patch value no manifest can hold (null, NaN,
 * undefined, a class instance, which the patch would turn into `null` or `{ value: ... }`)
 * is refused when the patch is added, naming where it points.
 */
import { ApiObject, ApiObjectProps, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { quote } from './errors';

/** An ApiObject from a `k8s.Kube*.manifest(...)` (plain JSON) that takes only plain JSON patches. */
class PlainApiObject extends ApiObject {
  public addJsonPatch(...ops: JsonPatch[]): void {
    for (const op of ops) {
      const { op: kind, path, value } = op._toJson();
      const problem = kind === 'add' || kind === 'replace' || kind === 'test' ? findNonJson(value, path) : undefined;
      if (problem) {
        throw new Error(`${this.kind} ${this.node.path}: the patch value at ${problem}: patch with plain JSON values `
          + '(strings, numbers, booleans, lists, objects), e.g. "256Mi", not k8s.Quantity.fromString("256Mi"); to remove a field use JsonPatch.remove');
      }
    }
    super.addJsonPatch(...ops);
  }
}

/**
 * A workload object serialised up front. `manifest` is what `k8s.KubeDeployment.manifest()`
 * (or another kind's) returns; values produced later (`Lazy`) must be plain JSON too.
 */
export function plainApiObject(scope: Construct, id: string, manifest: ApiObjectProps): ApiObject {
  return new PlainApiObject(scope, id, manifest);
}

/** The first value at or below `pointer` that is not JSON a manifest can hold, described. */
function findNonJson(value: unknown, pointer: string): string | undefined {
  const at = pointer === '' ? '/' : pointer;
  if (value === null) return `${at} is null`;
  if (value === undefined) return `${at} is undefined`;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${at} is ${value}`;
    case 'object': {
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = findNonJson(value[i], `${pointer}/${i}`);
          if (found) return found;
        }
        return undefined;
      }
      if (proto !== Object.prototype && proto !== null) {
        return `${at} is an instance of ${proto?.constructor?.name ?? 'a class'} (${quote(value)})`;
      }
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        const found = findNonJson(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
        if (found) return found;
      }
      return undefined;
    }
    default:
      return `${at} is a ${typeof value}`;
  }
}
