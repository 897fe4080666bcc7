export * from './credentials';
export * from './postgres-stateful-set';
