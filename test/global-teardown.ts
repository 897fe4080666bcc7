// jest's globalTeardown: runs once, in jest's own process, after every test file.
import { removeRunFiles } from './pg/harness';

export default function globalTeardown(): void {
  removeRunFiles();
}
