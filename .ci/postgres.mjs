// Creates or drops one database on a PostgreSQL server, with the driver the project already has.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/core/package.json', import.meta.url));
const postgres = require('postgres');

const [action, adminUrl, database] = process.argv.slice(2);
if (!['create', 'drop'].includes(action) || !adminUrl || !/^[a-z0-9_]+$/.test(database ?? '')) {
  console.error('usage: node .ci/postgres.mjs create|drop <admin-url> <database>');
  process.exit(2);
}
const sql = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
try {
  if (action === 'create') await sql.unsafe(`create database ${database}`);
  else await sql.unsafe(`drop database if exists ${database} with (force)`);
} catch (error) {
  console.error(`postgres ${action} ${database}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 2 });
}
