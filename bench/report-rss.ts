/**
 * Preloaded into a benchmarked child process (`node --import ./bench/report-rss.ts ...`): prints
 * the process's peak resident set size as one JSON line on stderr when it exits, however it exits.
 */
process.on('exit', () => {
  process.stderr.write(`${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
});
