#!/usr/bin/env node
/** The `vggkit` command: registers each command (one file each) and hands over to commander. */
import { Command, CommanderError } from 'commander';

const program = new Command();
program
  .name('vggkit')
  .description('Fine-tune VGG16-family image classifiers on your own image folders, and find out why a fine-tune is not working.')
  .showSuggestionAfterError(true)
  .exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
