import { BlockCleanerKind } from '../../contract/values';
import { propError } from '../common/errors';

/**
 * The wiping methods of a {@link BlockCleaner}: the contract's BLOCK_CLEANER_KINDS
 * (src/contract/values.ts), held equal by a unit test (a jsii enum cannot be computed).
 */
export enum BlockCleanerMethod {
  /** Remove filesystem and partition signatures (fast; the old data stays on the device). */
  QUICK_RESET = 'QUICK_RESET',
  /** Overwrite the device with random data N times, then with zeros. */
  SHRED = 'SHRED',
  /** Overwrite the device with zeros N times. */
  ZERO = 'ZERO',
  /** Discard every block (TRIM/UNMAP); fast on SSDs that return zeros after a discard. */
  BLKDISCARD = 'BLKDISCARD',
}

const MIN_PASSES = 1;
const MAX_PASSES = 10;

/**
 * How the node agent wipes a raw block device of a `Block` local class after its claim is
 * released, before publishing it again. Only valid for `PersistentVolumeMode.BLOCK` classes.
 */
export class BlockCleaner {
  /**
   * Remove filesystem and partition signatures. Fast, but the previous tenant's data stays
   * readable on the raw device: use it only where tenants trust each other.
   */
  public static quickReset(): BlockCleaner {
    return new BlockCleaner(BlockCleanerMethod.QUICK_RESET);
  }

  /**
   * Overwrite with random data `passes` times, then with zeros.
   *
   * @param passes how many random passes (1-10)
   */
  public static shred(passes: number = 3): BlockCleaner {
    return new BlockCleaner(BlockCleanerMethod.SHRED, checkPasses('shred', passes));
  }

  /**
   * Overwrite with zeros `passes` times.
   *
   * @param passes how many passes (1-10)
   */
  public static zero(passes: number = 1): BlockCleaner {
    return new BlockCleaner(BlockCleanerMethod.ZERO, checkPasses('zero', passes));
  }

  /** Discard every block of the device (needs a device that supports discard). */
  public static blkdiscard(): BlockCleaner {
    return new BlockCleaner(BlockCleanerMethod.BLKDISCARD);
  }

  private constructor(
    /** The wiping method. */
    public readonly method: BlockCleanerMethod,
    /** Number of passes (SHRED and ZERO only). */
    public readonly passes?: number,
  ) {}

  /** @internal The form the node agent reads from its class map. */
  public _toConfig(): { readonly kind: BlockCleanerKind; readonly passes?: number } {
    return this.passes === undefined ? { kind: this.method } : { kind: this.method, passes: this.passes };
  }
}

function checkPasses(method: string, passes: number): number {
  if (!Number.isInteger(passes) || passes < MIN_PASSES || passes > MAX_PASSES) {
    throw propError(`BlockCleaner.${method}()`, 'passes', passes, 'is out of range', `use a whole number from ${MIN_PASSES} to ${MAX_PASSES}`);
  }
  return passes;
}
