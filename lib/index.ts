export * from './backup';
export * from './backups';
export * from './claim-retention';
export * from './credentials';
export * from './database';
export * from './props';
export * from './postgres-stateful-set';
export * from './smoke-test';
