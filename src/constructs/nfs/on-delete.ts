/**
 * What the controller does with a volume's directory when the volume is deleted
 * (its claim deleted and the reclaim policy `Delete`).
 *
 * The policy in force at provisioning time is recorded on the volume, so changing the
 * class later does not change what happens to existing volumes.
 *
 * The values are the contract's ON_DELETE_VALUES (src/contract/values.ts); a unit test
 * holds the two equal, since a jsii enum cannot be computed from a list.
 */
export enum OnDelete {
  /** Remove the directory and everything in it. */
  DELETE = 'DELETE',
  /** Leave the directory as it is. */
  RETAIN = 'RETAIN',
  /** Rename the directory to a unique `archived-...` name beside it; nothing is lost. */
  ARCHIVE = 'ARCHIVE',
}
