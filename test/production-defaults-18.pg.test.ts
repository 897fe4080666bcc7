// The production defaults against PostgreSQL 18, the default image's major: the tests are in production-defaults.suite.ts (all of them).
import { PG18 } from './pg/harness';
import { manifestTests, productionDefaultsTests } from './production-defaults.suite';

productionDefaultsTests(PG18, { majorIndependent: true });
manifestTests();

