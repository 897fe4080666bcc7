// TLS against PostgreSQL 18, the default image's major: the tests are in tls.suite.ts (all of
// those that start servers).
import { PG18 } from './pg/harness';
import { tlsTests } from './tls.suite';

tlsTests(PG18, { majorIndependent: true });
