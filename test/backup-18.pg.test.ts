// Backups and restores against PostgreSQL 18, the default image's major: the tests are in backup.suite.ts (all of them).
import { PG18 } from './pg/harness';
import { backupTests } from './backup.suite';

backupTests(PG18, { majorIndependent: true });
