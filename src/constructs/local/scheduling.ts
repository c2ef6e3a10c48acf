import { k8s } from 'cdk8s-plus-28';
import { TaintEffect, Toleration, TolerationOperator } from './toleration';
import { isProvisionerName } from '../../contract/names';
import { quote } from '../common/errors';

/** Validates a toleration the way the API server would, naming the fix. */
export function renderToleration(t: Toleration, where: string): k8s.Toleration {
  const operator = t.operator ?? TolerationOperator.EQUAL;
  const label = `${where}: tolerations entry ${quote(t)}`;
  if (!Object.values(TolerationOperator).includes(operator)) {
    throw new Error(`${label}: operator ${quote(operator)} is not one Kubernetes knows; use TolerationOperator.EXISTS or TolerationOperator.EQUAL`);
  }
  if (t.effect !== undefined && !Object.values(TaintEffect).includes(t.effect)) {
    throw new Error(`${label}: effect ${quote(t.effect)} is not a taint effect; use TaintEffect.NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE, or leave it unset for every effect`);
  }
  if (t.key !== undefined && t.key !== '' && !isQualifiedName(t.key)) {
    throw new Error(`${label}: key ${quote(t.key)} is not a valid label key; use e.g. "dedicated" or "example.com/storage"`);
  }
  if (t.value !== undefined && t.value !== '' && !isLabelValue(t.value)) {
    throw new Error(`${label}: value ${quote(t.value)} is not a valid label value; use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
  if ((t.key === undefined || t.key === '') && operator !== TolerationOperator.EXISTS) {
    throw new Error(`${label}: a toleration without key must use operator EXISTS (it then tolerates every taint); add a key or set operator: TolerationOperator.EXISTS`);
  }
  if (operator === TolerationOperator.EXISTS && t.value !== undefined && t.value !== '') {
    throw new Error(`${label}: value is set with operator EXISTS, which matches any value; remove value or use TolerationOperator.EQUAL`);
  }
  if (t.tolerationSeconds !== undefined) {
    if (t.effect !== TaintEffect.NO_EXECUTE) {
      throw new Error(`${label}: tolerationSeconds applies only to effect NO_EXECUTE; remove it or set effect: TaintEffect.NO_EXECUTE`);
    }
    if (!Number.isInteger(t.tolerationSeconds) || t.tolerationSeconds < 0) {
      throw new Error(`${label}: tolerationSeconds is ${quote(t.tolerationSeconds)}; use a whole number of seconds >= 0`);
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

/** A label key follows the qualified-name rule of a provisioner name: `[prefix/]name`. */
export function isQualifiedName(value: string): boolean {
  return isProvisionerName(value);
}

/** A label value: empty, or at most 63 alphanumerics, '-', '_', '.', alphanumeric at both ends. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value);
}
