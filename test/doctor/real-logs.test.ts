/**
 * The doctor over every real Keras log in ../shared/real-world/logs/, asserting the practitioner's
 * reading written down in real-logs.md (one row per log, and per two-phase pair). The logs are
 * third-party files: read in place, never copied into the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildContext } from '../../src/doctor/inputs.js';
import { runDoctor } from '../../src/doctor/run.js';
import { ALL_IDS } from '../../src/doctor/checks/index.js';

const LOGS = fileURLToPath(new URL('../../../shared/real-world/logs/', import.meta.url));
const READING = fileURLToPath(new URL('./real-logs.md', import.meta.url));

interface Expected {
  readonly id: string;
  readonly severity?: string;
}

interface Row {
  readonly files: readonly string[];
  readonly classes: number | undefined;
  readonly mustFire: readonly Expected[];
  readonly mayFire: readonly string[];
  readonly mustNot: readonly string[];
}

function ids(cell: string): Expected[] {
  return cell
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^([a-z0-9-]+)(?: \((error|warning|info)\))?$/.exec(s);
      assert.ok(m, `real-logs.md: cannot read the finding "${s}"`);
      return m[2] === undefined ? { id: m[1] as string } : { id: m[1] as string, severity: m[2] };
    });
}

async function rows(): Promise<Row[]> {
  const table = (await readFile(READING, 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| log ') && !l.startsWith('| ---'));
  return table.map((line) => {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    assert.equal(cells.length, 6, `real-logs.md: a row needs 6 cells: ${line.slice(0, 80)}`);
    const [log, classes, , must, may, not] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    return {
      files: log.split(' + '),
      classes: classes === '-' ? undefined : Number(classes),
      mustFire: ids(must),
      mayFire: ids(may).map((e) => e.id),
      mustNot: ids(not).map((e) => e.id),
    };
  });
}

const missing = existsSync(LOGS)
  ? undefined
  : `did not run: ${LOGS} is absent (the real-world logs sit beside the checkout in ../shared/; a clone elsewhere has none)`;

test(
  'real-logs.md reads every real log, names only known finding ids, and never contradicts itself',
  { skip: missing },
  async () => {
    const table = await rows();
    const covered = new Set(table.filter((r) => r.files.length === 1).map((r) => r.files[0]));
    for (const file of await readdir(LOGS)) assert.ok(covered.has(file), `no reading for ${file}`);
    for (const row of table) {
      for (const file of row.files)
        assert.ok(existsSync(`${LOGS}${file}`), `${file} is not in ${LOGS}`);
      for (const id of [...row.mustFire.map((e) => e.id), ...row.mayFire, ...row.mustNot])
        assert.ok(ALL_IDS.includes(id), `${row.files.join(' + ')}: unknown finding id ${id}`);
      for (const id of row.mustNot)
        assert.ok(
          !row.mustFire.some((e) => e.id === id) && !row.mayFire.includes(id),
          `${row.files.join(' + ')}: ${id} both expected and forbidden`,
        );
    }
  },
);

test('the doctor agrees with the practitioner on every real log', { skip: missing }, async (t) => {
  for (const row of await rows()) {
    const name = `${row.files.join(' + ')}${row.classes === undefined ? '' : ` --classes ${row.classes}`}`;
    await t.test(name, async () => {
      const ctx = await buildContext({
        history: row.files.map((f) => `${LOGS}${f}`),
        ...(row.classes === undefined ? {} : { classes: row.classes }),
      });
      const found = (await runDoctor(ctx)).findings;
      const said =
        found.map((f) => `${f.id} (${f.severity}): ${f.title}`).join('\n  ') || 'nothing';
      for (const e of row.mustFire) {
        const hit = found.find((f) => f.id === e.id);
        assert.ok(hit, `expected ${e.id}; the doctor said\n  ${said}`);
        if (e.severity !== undefined)
          assert.ok(
            found.some((f) => f.id === e.id && f.severity === e.severity),
            `expected ${e.id} as ${e.severity}; the doctor said\n  ${said}`,
          );
      }
      for (const id of row.mustNot)
        assert.ok(
          !found.some((f) => f.id === id),
          `${id} is a false alarm here; the doctor said\n  ${said}`,
        );
      const allowed = new Set([...row.mustFire.map((e) => e.id), ...row.mayFire]);
      const extra = found.filter((f) => !allowed.has(f.id));
      assert.deepEqual(
        extra.map((f) => f.id),
        [],
        `findings the reading does not expect; the doctor said\n  ${said}`,
      );
    });
  }
});

test(
  'the real BinaryAccuracy log: its finding carries the Keras line and the vggkit flag',
  { skip: missing },
  async () => {
    const ctx = await buildContext({
      history: [`${LOGS}emanuellemoco_fer7_vgg16_frozen_pandas_to_json.json`],
      classes: 7,
    });
    const hit = (await runDoctor(ctx)).findings.find(
      (f) => f.id === 'binary-accuracy-on-multiclass',
    );
    assert.ok(hit);
    assert.match(hit.fix.keras ?? '', /loss='categorical_crossentropy'.*CategoricalAccuracy/);
    assert.match(hit.fix.flag ?? '', /--loss categorical_crossentropy/);
  },
);
