export * from './claim-retention';
export * from './credentials';
export * from './database';
export * from './major-upgrade';
export * from './props';
export * from './postgres-stateful-set';
export * from './smoke-test';
export * from './tls-certificate';
