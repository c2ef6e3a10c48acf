import { Size } from 'cdk8s';
import { QuantityError, sizeStringToBytes } from '../../contract/quantity';
import { propError } from '../common/errors';

/**
 * Exact bytes of a cdk8s `Size`. `Size.toGibibytes()` throws for fractions and the float
 * conversions are inexact, so this reads the size's own decimal text instead. Fractions of
 * a byte round up.
 *
 * @throws Error naming the prop when the size cannot be represented.
 */
export function sizeToBytes(where: string, prop: string, size: Size): bigint {
  try {
    return sizeStringToBytes(size.asString());
  } catch (e) {
    if (e instanceof QuantityError) {
      throw propError(where, prop, size.asString(), 'is not a usable size', `${e.message}; give a finite size, e.g. Size.gibibytes(10)`);
    }
    throw e;
  }
}
