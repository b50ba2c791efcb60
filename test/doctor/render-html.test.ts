import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHistory } from '../../src/doctor/history.js';
import { renderHtml } from '../../src/doctor/render-html.js';
import { runDoctor } from '../../src/doctor/run.js';
import { healthyEpochs, kerasCsv } from './fixtures.js';

const SHADE = /<rect [^>]*fill="#e4572e"/;

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
  assert.doesNotMatch(await renderHtml(quiet, { history: noteOnly }), SHADE);

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
  assert.match(await renderHtml(loud, { history: overfit }), SHADE);
});
