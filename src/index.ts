export * from './constructs/common/storage-class-ref';
export * from './constructs/nfs';
export * from './constructs/claim';
export * from './constructs/local';
