export * from './resizable-claim';
