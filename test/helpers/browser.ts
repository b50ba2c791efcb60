/**
 * Debian's chromium driven by playwright-core (never a browser download), for the tests that look
 * at vggkit's pages in a real browser. The flags keep a headless Chromium running as root off the
 * network it would otherwise probe in the background (component updates, sync, QUIC).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { requireBinary } from './system-binary.js';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Browser {
  readonly context: BrowserContext;
  /** A new page that records console errors and uncaught exceptions into `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Chromium with a fresh profile, or undefined (the test skipped) when it is not installed. */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  const executablePath = requireBinary(t, 'chromium');
  if (executablePath === undefined) return undefined;
  const profile = await mkdtemp(join(tmpdir(), 'vggkit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      return { page, errors };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Where tests leave screenshots for a person to look at (gitignored). */
export const ARTEFACTS_DIR = join(import.meta.dirname, '..', '..', 'test-artefacts');
