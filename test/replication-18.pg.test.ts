// Streaming replication against PostgreSQL 18, the default image's major: the tests are in
// replication.suite.ts (all of them, the major-independent ones too).
import { PG18 } from './pg/harness';
import { replicationTests } from './replication.suite';

replicationTests(PG18, { majorIndependent: true });
