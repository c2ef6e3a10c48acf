import { k8s, TaintEffect } from 'cdk8s-plus-28';
import { Toleration, TolerationOperator } from './toleration';
import { isLabelValue, isQualifiedName, LABEL_VALUE_FIX } from '../../contract/names';
import { propError } from '../common/errors';

/** Validates a toleration the way the API server would, naming the fix. */
export function renderToleration(t: Toleration, where: string, index: number): k8s.Toleration {
  const operator = t.operator ?? TolerationOperator.EQUAL;
  const prop = (field: string) => `tolerations[${index}].${field}`;
  if (!Object.values(TolerationOperator).includes(operator)) {
    throw propError(where, prop('operator'), operator, 'is not one Kubernetes knows', 'use TolerationOperator.EXISTS or TolerationOperator.EQUAL');
  }
  if (t.effect !== undefined && !Object.values(TaintEffect).includes(t.effect)) {
    throw propError(where, prop('effect'), t.effect, 'is not a taint effect',
      'use TaintEffect.NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE, or leave it unset for every effect');
  }
  if (t.key !== undefined && t.key !== '' && !isQualifiedName(t.key)) {
    throw propError(where, prop('key'), t.key, 'is not a valid label key', 'use e.g. "dedicated" or "example.com/storage"');
  }
  if (t.value !== undefined && t.value !== '' && !isLabelValue(t.value)) {
    throw propError(where, prop('value'), t.value, 'is not a valid label value', LABEL_VALUE_FIX);
  }
  if ((t.key === undefined || t.key === '') && operator !== TolerationOperator.EXISTS) {
    throw propError(where, prop('operator'), operator, 'needs a key (only EXISTS may go without one, and then tolerates every taint)',
      'add a key or set operator: TolerationOperator.EXISTS');
  }
  if (operator === TolerationOperator.EXISTS && t.value !== undefined && t.value !== '') {
    throw propError(where, prop('value'), t.value, 'is set with operator EXISTS, which matches any value', 'remove value or use TolerationOperator.EQUAL');
  }
  if (t.tolerationSeconds !== undefined) {
    if (t.effect !== TaintEffect.NO_EXECUTE) {
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
