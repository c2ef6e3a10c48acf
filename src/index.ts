export * from './constructs/common/storage-class-ref';
export * from './constructs/common/workload-options';
export * from './constructs/nfs';
export * from './constructs/claim';
export * from './constructs/local';
