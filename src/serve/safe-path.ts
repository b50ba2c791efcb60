/**
 * The one gate between a URL and the disk: a request path maps to a file under the served folder
 * or to nothing. Refused (the caller answers 404, saying nothing about what exists): `.` and `..`
 * segments, empty segments (`//etc/passwd`), encoded slashes or backslashes (`%2f`, `%5c`, so
 * `..%2f` cannot become `../` after routing), NUL bytes, malformed escapes, and anything whose real
 * path (symlinks resolved) is outside the folder's real path.
 */
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';

/** The decoded segments of a URL path (after a route prefix), or undefined when any is refused. */
export function pathSegments(urlPath: string): string[] | undefined {
  if (urlPath === '') return [];
  const raw = urlPath.replace(/\/$/, '').split('/');
  const segments: string[] = [];
  for (const part of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (
      decoded === '' ||
      decoded === '.' ||
      decoded === '..' ||
      /[/\\\0]/.test(decoded) ||
      /%2f|%5c/i.test(part)
    )
      return undefined;
    segments.push(decoded);
  }
  return segments;
}

/** The real path of `urlPath` under `realRoot` (itself a real path), or undefined. */
export async function resolveUnder(realRoot: string, urlPath: string): Promise<string | undefined> {
  const segments = pathSegments(urlPath);
  if (segments === undefined) return undefined;
  let real: string;
  try {
    real = await realpath(join(realRoot, ...segments));
  } catch {
    return undefined;
  }
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)
    ? real
    : undefined;
}
