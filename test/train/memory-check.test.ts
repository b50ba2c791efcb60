import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureMemoryBudget } from '../../src/train/memory-check.js';
import { MEMORY_BUDGET_BYTES } from '../../src/train/features.js';

const GB = 2 ** 30;

test('features kept in memory get what the training step leaves, minus a 1 GB margin, at most the default', () => {
  assert.equal(featureMemoryBudget(2 * GB, 20 * GB), MEMORY_BUDGET_BYTES);
  assert.equal(featureMemoryBudget(2 * GB, 5 * GB), 2 * GB);
  assert.equal(featureMemoryBudget(6 * GB, 5 * GB), 0);
});
