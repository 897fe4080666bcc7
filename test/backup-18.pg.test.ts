// Backups and restores against PostgreSQL 18: the tests are in backup.suite.ts.
import { PG18 } from './pg/harness';
import { backupTests } from './backup.suite';

backupTests(PG18);
