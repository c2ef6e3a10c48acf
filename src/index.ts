export * from './storage-class-ref';
export * from './local';
