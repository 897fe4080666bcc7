// Backups and restores against PostgreSQL 15: the tests are in backup.suite.ts.
import { PG15 } from './pg/harness';
import { backupTests } from './backup.suite';

backupTests(PG15);
