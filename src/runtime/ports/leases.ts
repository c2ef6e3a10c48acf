/**
 * The Lease that leader election (core/leader.ts) reads and writes, as a port
 * implemented in ../kube/.
 */

export interface LeaseRecord {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: Date;
  readonly renewTime?: Date;
  readonly leaseTransitions?: number;
  /** Optimistic concurrency: an update with a stale one fails with 409. */
  readonly resourceVersion?: string;
}

export interface LeasePort {
  /** The Lease, or undefined when it does not exist. */
  get(): Promise<LeaseRecord | undefined>;
  /** Creates the Lease; 409 when someone else just did. */
  create(record: LeaseRecord): Promise<LeaseRecord>;
  /** Replaces the Lease at `record.resourceVersion`; 409 when it changed meanwhile. */
  update(record: LeaseRecord): Promise<LeaseRecord>;
}
