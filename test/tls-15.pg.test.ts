// TLS against PostgreSQL 15: the tests are in tls.suite.ts (those that depend on the major, and
// the tests of the scripts alone, which need no server).
import { PG15 } from './pg/harness';
import { tlsScriptTests, tlsTests } from './tls.suite';

tlsTests(PG15);
tlsScriptTests();
