import { TaintEffect } from 'cdk8s-plus-28';

/** How a toleration matches a taint's value. */
export enum TolerationOperator {
  /** The taint's value must equal the toleration's `value`. */
  EQUAL = 'Equal',
  /** Any value (the toleration has no `value`). */
  EXISTS = 'Exists',
}

/**
 * Lets the node agent run on nodes with a matching taint.
 *
 * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
 */
export interface Toleration {
  /**
   * The taint key; empty with operator EXISTS tolerates every taint.
   *
   * @default - every key (operator must be EXISTS)
   */
  readonly key?: string;

  /**
   * How the value is compared.
   *
   * @default TolerationOperator.EQUAL
   */
  readonly operator?: TolerationOperator;

  /**
   * The taint value to match (operator EQUAL only).
   *
   * @default - the empty value
   */
  readonly value?: string;

  /**
   * The taint effect to match.
   *
   * @default - every effect
   */
  readonly effect?: TaintEffect;

  /**
   * For NO_EXECUTE: how long the pod stays after the taint appears.
   *
   * @default - forever
   */
  readonly tolerationSeconds?: number;
}
