export * from './storage-class-ref';
