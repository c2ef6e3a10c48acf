export * from './nfs-quota';
export * from './nfs-server';
export * from './on-delete';
export * from './nfs-storage-class';
export * from './nfs-provisioner';
