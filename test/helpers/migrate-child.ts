// A separate process that migrates the database named on its command line (a SQLite file or a
// postgres:// URL) at the given moment (Unix milliseconds), so that several start at once;
// prints the migrations it applied as JSON.
import { migrate, openPostgres, openSqlite } from '../../src/db/index.js';

const [target, at] = process.argv.slice(2);
const handle = /^postgres(ql)?:\/\//.test(target) ? openPostgres(target) : openSqlite(target);
while (Date.now() < Number(at)) await new Promise((resolve) => setTimeout(resolve, 1));
try {
  process.stdout.write(`${JSON.stringify(await migrate(handle))}\n`);
} finally {
  await handle.close();
}
