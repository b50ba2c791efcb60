/** Finding image files: the one definition of "an image file" shared by extract, train and doctor. */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { VggkitError } from '../util/errors.js';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
]);

export function hasImageExtension(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

/**
 * Expands files and directories (recursively, in sorted order so runs are reproducible) into image
 * paths. Named files are kept whatever their extension, since the user asked for them; files found
 * by walking are kept only with an image extension.
 */
export async function listImageFiles(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((cause: unknown) => {
      throw new VggkitError('NOT_FOUND', `${path}: no such file or directory`, {
        file: path,
        cause,
      });
    });
    if (info.isDirectory()) await walk(path, found);
    else found.push(path);
  }
  return found;
}

async function walk(dir: string, found: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, found);
    else if (entry.isFile() && hasImageExtension(entry.name)) found.push(path);
  }
}
