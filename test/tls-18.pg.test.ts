// TLS against PostgreSQL 18: the tests are in tls.suite.ts.
import { PG18 } from './pg/harness';
import { tlsTests } from './tls.suite';

tlsTests(PG18);
