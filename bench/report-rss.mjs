/**
 * Preloaded into a benchmarked child process (`node --import ./bench/report-rss.mjs ...`): prints
 * the process's peak resident set size as one JSON line on stderr when it exits, however it exits.
 * Plain JavaScript, so it also preloads into the compiled CLI without tsx's loader.
 */
process.on('exit', () => {
  process.stderr.write(`${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
});
