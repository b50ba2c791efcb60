import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHistory } from '../../src/doctor/history.js';
import { renderHtml } from '../../src/doctor/render-html.js';
import { runDoctor } from '../../src/doctor/run.js';
import { chartSpecs } from '../../src/report/chart-spec.js';
import { healthyEpochs, kerasCsv } from './fixtures.js';

/** The ranges the page's charts shade. */
function shaded(html: string): string[] {
  return chartSpecs(html)
    .flatMap((s) => (s.kind === 'line' ? (s.highlights ?? []) : []))
    .map((h) => h.label);
}

test('the curves shade the epochs of warnings and errors, never of notes', async () => {
  const model = { classes: ['cats', 'dogs'] };
  // Validation above training throughout: a note only.
  const noteOnly = parseHistory(
    kerasCsv(healthyEpochs().map((e) => ({ ...e, val_accuracy: (e.accuracy ?? 0) + 0.1 }))),
    'history.csv',
  );
  const quiet = await runDoctor({ history: noteOnly, model });
  assert.deepEqual(
    quiet.findings.map((f) => [f.id, f.severity]),
    [['val-above-train', 'info']],
  );
  const quietPage = await renderHtml(quiet, { history: noteOnly });
  assert.equal(chartSpecs(quietPage).length, 3, 'loss, accuracy and learning-rate charts');
  assert.deepEqual(shaded(quietPage), []);

  // Validation loss climbing for the last epochs while training loss falls: overfitting, a warning.
  const overfit = parseHistory(
    kerasCsv(
      healthyEpochs().map((e, i) => ({
        ...e,
        val_loss: i < 6 ? (e.val_loss ?? 0) : 0.5 + 0.1 * (i - 5),
      })),
    ),
    'history.csv',
  );
  const loud = await runDoctor({ history: overfit, model });
  assert.ok(
    loud.findings.some((f) => f.severity !== 'info' && f.family === 'dynamics'),
    JSON.stringify(loud.findings.map((f) => f.id)),
  );
  const loudShades = shaded(await renderHtml(loud, { history: overfit }));
  const problems = loud.findings.filter((f) => f.severity !== 'info' && f.family === 'dynamics');
  for (const f of problems)
    assert.ok(
      loudShades.some((label) => label.startsWith(`${f.id}:`)),
      `${f.id} not shaded: ${loudShades.join('; ')}`,
    );
});
