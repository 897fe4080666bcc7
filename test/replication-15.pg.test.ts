// Streaming replication against PostgreSQL 15: the tests are in replication.suite.ts.
import { PG15 } from './pg/harness';
import { replicationTests } from './replication.suite';

replicationTests(PG15);
