import { k8s } from 'cdk8s-plus-28';
import { propError } from './errors';
import { isLabelValue, isQualifiedName, LABEL_VALUE_FIX } from '../../contract/names';

/** The toleration operators Kubernetes knows. */
const OPERATORS: readonly string[] = ['Equal', 'Exists'];
/** The taint effects Kubernetes knows. */
const EFFECTS: readonly string[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/**
 * Validates a toleration the way the API server would, naming the fix. Takes the k8s
 * type, so tolerations written for any pod (and this package's own `Toleration`, whose enum
 * values are the same strings) are accepted as they are.
 */
export function renderToleration(t: k8s.Toleration, where: string, index: number): k8s.Toleration {
  const operator = t.operator ?? 'Equal';
  const prop = (field: string) => `tolerations[${index}].${field}`;
  if (!OPERATORS.includes(operator)) {
    throw propError(where, prop('operator'), operator, 'is not one Kubernetes knows', 'use "Exists" or "Equal" (TolerationOperator.EXISTS or EQUAL)');
  }
  if (t.effect !== undefined && !EFFECTS.includes(t.effect)) {
    throw propError(where, prop('effect'), t.effect, 'is not a taint effect',
      'use "NoSchedule", "PreferNoSchedule" or "NoExecute" (TaintEffect.NO_SCHEDULE ...), or leave it unset for every effect');
  }
  if (t.key !== undefined && t.key !== '' && !isQualifiedName(t.key)) {
    throw propError(where, prop('key'), t.key, 'is not a valid label key', 'use e.g. "dedicated" or "example.com/storage"');
  }
  if (t.value !== undefined && t.value !== '' && !isLabelValue(t.value)) {
    throw propError(where, prop('value'), t.value, 'is not a valid label value', LABEL_VALUE_FIX);
  }
  if ((t.key === undefined || t.key === '') && operator !== 'Exists') {
    throw propError(where, prop('operator'), operator, 'needs a key (only EXISTS may go without one, and then tolerates every taint)',
      'add a key or set operator: TolerationOperator.EXISTS');
  }
  if (operator === 'Exists' && t.value !== undefined && t.value !== '') {
    throw propError(where, prop('value'), t.value, 'is set with operator EXISTS, which matches any value', 'remove value or use TolerationOperator.EQUAL');
  }
  if (t.tolerationSeconds !== undefined) {
    if (t.effect !== 'NoExecute') {
      throw propError(where, prop('tolerationSeconds'), t.tolerationSeconds, 'applies only to effect NO_EXECUTE', 'remove it or set effect: TaintEffect.NO_EXECUTE');
    }
    if (!Number.isInteger(t.tolerationSeconds) || t.tolerationSeconds < 0) {
      throw propError(where, prop('tolerationSeconds'), t.tolerationSeconds, 'is not a whole number of seconds >= 0', 'use e.g. 300');
    }
  }
  return {
    ...(t.key ? { key: t.key } : {}),
    operator,
    ...(t.value ? { value: t.value } : {}),
    ...(t.effect ? { effect: t.effect } : {}),
    ...(t.tolerationSeconds !== undefined ? { tolerationSeconds: t.tolerationSeconds } : {}),
  };
}

export { isLabelValue, isQualifiedName, LABEL_VALUE_FIX };
