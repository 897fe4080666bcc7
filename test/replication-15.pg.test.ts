// Streaming replication against PostgreSQL 15: the tests are in replication.suite.ts (those that
// depend on the major).
import { PG15 } from './pg/harness';
import { replicationTests } from './replication.suite';

replicationTests(PG15);
