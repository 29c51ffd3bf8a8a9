import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { migrations } from '../../src/db/migrations/index.js';

/**
 * The rule for online migrations (docs/DEPLOYMENT.md, Upgrades): during a rolling update the
 * previous release runs against the new schema, so a migration only expands it (new tables,
 * new nullable columns or columns with a default, new indexes). A change the previous release
 * would break on (dropping or renaming a table or column, changing a column's type, making a
 * column NOT NULL without a default) belongs to a later release, once no instance of the
 * release that used the old shape runs any more, and is marked with a comment
 * `contract-phase: <why it is safe now>` on its line or the line above.
 */
const release = JSON.parse(readFileSync(path.resolve('test/fixtures/upgrade/release.json'), 'utf8')) as { last_migration: string };

interface Finding {
  line: number;
  what: string;
  text: string;
}

const destructive: Array<[RegExp, string]> = [
  [/\.dropTable\(|\bdrop\s+table\b/i, 'drops a table'],
  [/\.dropColumn\(|\bdrop\s+column\b/i, 'drops a column'],
  [/\.renameTo\(|\.renameColumn\(|\brename\s+(to|column)\b/i, 'renames a table or column'],
  [/\.setDataType\(|\balter\s+column\s+\w+\s+(set\s+data\s+)?type\b/i, "changes a column's type"],
  [/\.setNotNull\(|\bset\s+not\s+null\b/i, 'makes a column NOT NULL'],
  [/\.dropConstraint\(|\bdrop\s+constraint\b/i, 'drops a constraint'],
];

/** Every destructive change in a migration's source that is not marked contract-phase. */
function destructiveChanges(source: string): Finding[] {
  const lines = source.split('\n');
  const marked = (i: number) => /contract-phase:/.test(lines[i]) || (i > 0 && /contract-phase:/.test(lines[i - 1]));
  const findings: Finding[] = [];
  lines.forEach((text, i) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(text)) return; // comments
    for (const [pattern, what] of destructive) {
      if (pattern.test(text) && !marked(i)) findings.push({ line: i + 1, what, text: text.trim() });
    }
  });
  // A NOT NULL column added to an existing table needs a default: rows the previous release
  // inserts (without the column) would fail otherwise.
  const alter = /\.alterTable\(([^)]*)\)([\s\S]*?)\.execute\(\)/g;
  for (let m = alter.exec(source); m; m = alter.exec(source)) {
    const start = source.slice(0, m.index).split('\n').length;
    const parts = m[2].split(/\.addColumn\(/).slice(1);
    for (const part of parts) {
      if (/notNull\(\)/.test(part) && !/defaultTo\(/.test(part)) {
        const offset = m[0].indexOf(part);
        const line = start + m[0].slice(0, offset).split('\n').length - 1;
        if (!marked(line - 1))
          findings.push({ line, what: 'adds a NOT NULL column without a default to an existing table', text: part.split('\n')[0].trim() });
      }
    }
  }
  return findings;
}

test('the destructive-change check finds what it must, and lets expansions and marked contractions pass', () => {
  const bad = [
    "await db.schema.dropTable('old').execute();",
    "await db.schema.alterTable('t').dropColumn('c').execute();",
    "await db.schema.alterTable('t').renameColumn('a', 'b').execute();",
    "await db.schema.alterTable('t').alterColumn('c', (col) => col.setDataType('bigint')).execute();",
    'await sql`alter table t alter column c set not null`.execute(db);',
    "await db.schema\n  .alterTable('t')\n  .addColumn('c', 'integer', (c) => c.notNull())\n  .execute();",
  ];
  for (const source of bad) assert.equal(destructiveChanges(source).length, 1, source);
  const good = [
    "await db.schema.createTable('t').addColumn('c', 'integer', (c) => c.notNull()).execute();",
    "await db.schema.alterTable('t').addColumn('c', 'integer', (c) => c.notNull().defaultTo(0)).execute();",
    "await db.schema.alterTable('t').addColumn('c', 'text').execute();",
    "// contract-phase: nothing reads it since 0.3 (two releases back)\nawait db.schema.alterTable('t').dropColumn('c').execute();",
  ];
  for (const source of good) assert.deepEqual(destructiveChanges(source), [], source);
});

test(`migrations after the previous release (${release.last_migration}) only expand the schema, or are marked contract-phase`, () => {
  const names = Object.keys(migrations);
  assert.ok(names.includes(release.last_migration), `${release.last_migration} is a known migration`);
  const newer = names.slice(names.indexOf(release.last_migration) + 1);
  const problems: string[] = [];
  for (const name of newer) {
    const file = path.resolve('src/db/migrations', `${name}.ts`);
    for (const f of destructiveChanges(readFileSync(file, 'utf8'))) problems.push(`${name}.ts:${f.line} ${f.what}: ${f.text}`);
  }
  assert.deepEqual(
    problems,
    [],
    'a rolling update runs the previous release on the new schema: make the change in two steps (expand now, contract a release later) or mark it `// contract-phase: <why it is safe>` (docs/DEPLOYMENT.md, Upgrades)',
  );
});
