/** Event reasons the local agent writes (one place, so docs/local.md and tests agree). */
export const LOCAL_REASONS = {
  /** An entry of the discovery directory is a plain directory, not a mount point. */
  notAMountPoint: 'NotAMountPoint',
  /** An entry is neither a directory nor a block device (a file, a dangling link ...). */
  unsupportedEntry: 'UnsupportedEntry',
  /** A directory in a Block class. */
  volumeModeMismatch: 'VolumeModeMismatch',
  /** The size of an entry could not be read. */
  unknownCapacity: 'UnknownCapacity',
  /** An entry's name cannot be used in a path (control characters). */
  unsafeEntryName: 'UnsafeEntryName',
  /** Another PV already points at the entry's path. */
  duplicatePath: 'DuplicatePath',
  /** The PV name is taken by an object this agent did not publish. */
  nameTaken: 'PersistentVolumeNameTaken',
  /** An Available PV was deleted because its entry is gone. */
  withdrawn: 'VolumeWithdrawn',
  /** A PV in use (or failed) lost its entry; it is kept. */
  entryMissing: 'VolumeEntryMissing',
  /** The entry is a different device than the one published. */
  identityChanged: 'VolumeIdentityChanged',
  /** A PV's path or publication record does not match its class: it is never wiped. */
  recordInvalid: 'VolumeRecordInvalid',
  /** Cleanup of a Released volume started (block cleaners can take long). */
  cleanupStarted: 'VolumeCleanupStarted',
  /** Cleanup wiped the volume; the PV is deleted and republished. */
  cleaned: 'VolumeCleaned',
  /** Cleanup refused or failed; the PV stays Released. */
  cleanupFailed: 'VolumeFailedDelete',
  /** The PV's reclaim policy is Recycle (or unknown), which the agent does not do. */
  unsupportedReclaimPolicy: 'VolumeUnsupportedReclaimPolicy',
  /** The PV's class is no longer in the class map. */
  classNotConfigured: 'StorageClassNotConfigured',
  /** A class's discovery directory cannot be read. */
  discoveryFailed: 'DiscoveryFailed',
  /** Node-deletion role: an Available PV of a deleted node was removed. */
  nodeGoneDeleted: 'NodeDeletedVolumeRemoved',
  /** Node-deletion role: a PV in use on a deleted node is reported, not touched. */
  nodeGone: 'ReferencedNodeDeleted',
} as const;
