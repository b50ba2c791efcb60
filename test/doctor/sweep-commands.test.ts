/**
 * Findings about rates and convergence carry the `vggkit sweep` command that would settle them on
 * the user's data: its range brackets the configured rate and the rule's suggestion, and the command
 * parses as a real sweep (every flag is one the sweep accepts, every range valid).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { parseSearch } from '../../src/cli/actions/sweep.js';
import { addSearchableTrainFlags } from '../../src/cli/sweep.js';
import { MEASURED_BY_SWEEP, withSweepCommands } from '../../src/doctor/sweep-commands.js';
import { runDoctor } from '../../src/doctor/run.js';
import type { Finding } from '../../src/doctor/types.js';
import { renderTerminal } from '../../src/doctor/render-terminal.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';

/** The flags of a `vggkit sweep` command line as the sweep command parses them. */
async function parseCommand(command: string): Promise<Awaited<ReturnType<typeof parseSearch>>> {
  const args = command.split(' ');
  assert.deepEqual(args.slice(0, 2), ['vggkit', 'sweep']);
  const program = new Command().exitOverride();
  const sweep = program.command('sweep').argument('<dir>');
  addSearchableTrainFlags(sweep);
  sweep.option('--trials <n>').option('--scheduler <name>');
  let flags: Record<string, unknown> = {};
  sweep.action((_dir: string, options: Record<string, unknown>) => {
    flags = options;
  });
  await program.parseAsync(['node', 'vggkit', ...args.slice(1)]);
  return parseSearch(flags);
}

test('lr-too-high carries a sweep from below the suggestion to above the configured rate', async () => {
  const report = await runDoctor({ config: { ...DEFAULT_CONFIG, lr: 0.05 } });
  const finding = report.findings.find((f) => f.id === 'lr-too-high');
  assert.ok(finding?.fix.measure !== undefined, JSON.stringify(finding));
  assert.match(
    finding.fix.measure,
    /^vggkit sweep <data-dir> --lr \S+\.\.\S+ --epochs 20 --trials 16 --scheduler asha$/,
  );
  const { dimensions } = await parseCommand(finding.fix.measure.replace('<data-dir>', 'data'));
  const lr = dimensions.find((d) => d.path === 'lr');
  assert.ok(lr !== undefined && lr.kind === 'float' && lr.log);
  assert.ok(lr.low < 1e-4 && lr.high > 0.05, `${lr.low}..${lr.high} brackets 1e-4 and 0.05`);
  assert.match(renderTerminal(report), /measure it: vggkit sweep <data-dir> --lr/);
});

test('every measured finding id gets a command that the sweep parses', async () => {
  const config = { ...DEFAULT_CONFIG, lr: 3e-4 };
  for (const id of MEASURED_BY_SWEEP) {
    const finding: Finding = {
      id,
      severity: 'warning',
      title: id,
      explanation: '',
      evidence: {},
      fix: { summary: 'x' },
    };
    const [withCommand] = withSweepCommands([finding], { config });
    const command = withCommand?.fix.measure;
    assert.ok(command !== undefined, id);
    const { dimensions } = await parseCommand(command.replace('<data-dir>', 'data'));
    assert.ok(dimensions.length >= 1, `${id}: ${command}`);
  }
  const other: Finding = {
    id: 'nan-loss',
    severity: 'error',
    title: '',
    explanation: '',
    evidence: {},
    fix: { summary: 'x' },
  };
  assert.equal(withSweepCommands([other], { config })[0]?.fix.measure, undefined);
});
