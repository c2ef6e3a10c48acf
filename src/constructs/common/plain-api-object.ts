/**
 * The workloads the constructs expose (`NfsProvisioner.deployment`,
 * `LocalStaticProvisioner.daemonSet`) are the users' escape hatch: they patch them with
 * `addJsonPatch`. A generated `k8s.Kube*` class runs its typed serialiser over the object
 * *after* the patches, so a patch with plain JSON where the types expect a class (`cpu: "1"`
 * rather than `k8s.Quantity.fromString("1")`, `port: 8080` rather than an IntOrString)
 * comes out as `null` or not at all. These objects are serialised once, up front, and
 * patches apply to that JSON as given; what no manifest can hold (null, NaN, a class
 * instance, a hole in a list) fails the synth, naming where it is.
 */
import { ApiObject, ApiObjectProps } from 'cdk8s';
import { Construct } from 'constructs';
import { quote } from './errors';

/** An ApiObject from a `k8s.Kube*.manifest(...)` (plain JSON), checked after its patches. */
class PlainApiObject extends ApiObject {
  public toJson(): any {
    const json = super.toJson();
    const problem = findNonJson(json, '');
    if (problem) {
      throw new Error(`${this.kind} ${this.node.path}: ${problem}. A JSON patch (addJsonPatch) put it there: `
        + 'patch with plain JSON values (strings, numbers, booleans, lists, objects), e.g. "256Mi", not k8s.Quantity.fromString("256Mi"), and to remove a field use JsonPatch.remove');
    }
    return json;
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
  const at = pointer === '' ? 'the top level' : pointer;
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
