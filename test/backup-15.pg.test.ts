// Backups and restores against PostgreSQL 15: the tests are in backup.suite.ts (those that depend on the major).
import { PG15 } from './pg/harness';
import { backupTests } from './backup.suite';

backupTests(PG15);
