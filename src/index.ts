export * from './storage-class-ref';
export * from './nfs';
export * from './claim';
export * from './local';
