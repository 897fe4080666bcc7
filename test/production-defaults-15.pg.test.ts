// The production defaults against PostgreSQL 15: the tests are in production-defaults.suite.ts (those that depend on the major).
import { PG15 } from './pg/harness';
import { productionDefaultsTests } from './production-defaults.suite';

productionDefaultsTests(PG15);
