// The production defaults against PostgreSQL 18: the tests are in production-defaults.suite.ts.
import { PG18 } from './pg/harness';
import { manifestTests, productionDefaultsTests } from './production-defaults.suite';

productionDefaultsTests(PG18);
manifestTests();

