#!/usr/bin/env node
/** The `vggkit` command: registers each command (one file each) and hands over to commander. */
import { Command, CommanderError } from 'commander';
import { registerDoctorCommand } from './doctor.js';
import { registerEvaluate } from './evaluate.js';
import { registerExtract } from './extract.js';
import { registerPredict } from './predict.js';
import { registerServe } from './serve.js';
import { registerSummary } from './summary.js';
import { registerLrFind } from './lr-find.js';
import { registerSweep } from './sweep.js';
import { registerWorker } from './worker.js';
import { registerTrain } from './train.js';

const program = new Command();
program
  .name('vggkit')
  .description(
    'Fine-tune VGG16-family image classifiers on your own image folders, and find out why a fine-tune is not working.',
  )
  .showSuggestionAfterError(true)
  .exitOverride();

registerSummary(program);
registerPredict(program);
registerExtract(program);
registerTrain(program);
registerEvaluate(program);
registerDoctorCommand(program);
registerSweep(program);
registerLrFind(program);
registerWorker(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
