// jest's globalSetup: runs once, in jest's own process, before any test file.
import { createRunFiles } from './pg/harness';

export default function globalSetup(): void {
  createRunFiles();
}
