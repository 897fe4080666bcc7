// Streaming replication against PostgreSQL 18: the tests are in replication.suite.ts.
import { PG18 } from './pg/harness';
import { replicationTests } from './replication.suite';

replicationTests(PG18);
