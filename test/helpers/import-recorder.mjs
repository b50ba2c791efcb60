// Preloaded with `node --import` by test/cli/startup.test.ts: registers a resolve hook that
// appends every module URL the process resolves to the file named by $VGGKIT_IMPORT_LOG.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(process.env.VGGKIT_IMPORT_LOG)}, resolved.url + '\\n');
  return resolved;
}`)}`,
);
