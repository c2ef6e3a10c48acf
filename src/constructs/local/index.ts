export * from './block-cleaner';
export * from './local-storage-class';
export * from './local-static-provisioner';
export * from './toleration';
