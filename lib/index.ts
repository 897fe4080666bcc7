export * from './claim-retention';
export * from './credentials';
export * from './postgres-stateful-set';
