/** Finding image files: the one definition of "an image file" shared by extract, train and doctor. */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { unreadableInput } from '../util/errors.js';

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

export interface ImageListing {
  /** Image files: named ones whatever their extension, walked ones with an image extension. */
  readonly images: string[];
  /** Files found by walking without an image extension (hidden ones are not listed at all). */
  readonly ignored: string[];
}

/**
 * Expands files and directories (recursively, in sorted order so runs are reproducible) into image
 * paths. Named files are kept whatever their extension, since the user asked for them; files found
 * by walking are kept only with an image extension. Hidden entries (`.name`) are never walked.
 */
export async function listImageFiles(paths: readonly string[]): Promise<string[]> {
  return (await listFiles(paths)).images;
}

/**
 * listImageFiles over the paths a command was given to read (predict's and extract's images):
 * finding no image there makes the input unreadable, exit 2.
 */
export async function requireImageFiles(paths: readonly string[]): Promise<string[]> {
  const files = await listImageFiles(paths);
  if (files.length === 0)
    throw unreadableInput('NO_IMAGES', `${paths.join(', ')}: expected image files, found none`, {
      ...(paths.length === 1 ? { file: paths[0] } : {}),
    });
  return files;
}

/** listImageFiles, with the files the walk passed over: what the doctor reports as stray. */
export async function listFiles(paths: readonly string[]): Promise<ImageListing> {
  const listing: ImageListing = { images: [], ignored: [] };
  for (const path of paths) {
    const info = await stat(path).catch((cause: unknown) => {
      throw unreadableInput('NOT_FOUND', `${path}: no such file or directory`, {
        file: path,
        cause,
      });
    });
    if (info.isDirectory()) await walk(path, listing);
    else listing.images.push(path);
  }
  return listing;
}

async function walk(
  dir: string,
  found: ImageListing,
  ancestors = new Set<string>(),
): Promise<void> {
  // A symlink back to a folder being walked would recurse forever; its real path stops that.
  const real = await realpath(dir);
  if (ancestors.has(real)) return;
  ancestors.add(real);
  const entries = await readFolder(dir);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const kind = await entryKind(dir, entry);
    if (kind === 'directory') await walk(path, found, ancestors);
    else if (kind === 'file')
      (hasImageExtension(entry.name) ? found.images : found.ignored).push(path);
  }
  ancestors.delete(real);
}

/** A folder's entries; a folder that cannot be listed is an error naming it and the reason. */
export async function readFolder(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw unreadableInput('UNREADABLE_FOLDER', `${dir}: cannot list the folder (${reason})`, {
      file: dir,
      cause,
    });
  }
}

/**
 * What a directory entry is, following symlinks as Keras' directory listing does (datasets are
 * often folders of links into one store); a dangling link is neither.
 */
export async function entryKind(
  dir: string,
  entry: Dirent,
): Promise<'file' | 'directory' | undefined> {
  if (entry.isDirectory()) return 'directory';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return undefined;
  const target = await stat(join(dir, entry.name)).catch(() => undefined);
  if (target?.isDirectory() === true) return 'directory';
  return target?.isFile() === true ? 'file' : undefined;
}
