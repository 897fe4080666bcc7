// The production defaults against PostgreSQL 15: the tests are in production-defaults.suite.ts.
import { PG15 } from './pg/harness';
import { productionDefaultsTests } from './production-defaults.suite';

productionDefaultsTests(PG15);
