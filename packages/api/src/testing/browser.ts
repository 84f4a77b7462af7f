import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's and Ubuntu's Chromium packages put the browser. */
const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * The Chromium the browser tests drive: `NEXUS_CHROMIUM` when set, else the system's package
 * (`apt-get install chromium`; `.ci/run` installs it), else Playwright's own download (after
 * `npx playwright install chromium`); `undefined` when there is none, and the tests say so.
 */
export function chromiumPath(): string | undefined {
  const configured = process.env['NEXUS_CHROMIUM'];
  if (configured !== undefined && configured !== '') return configured;
  const system = SYSTEM_CHROMIUMS.find((path) => existsSync(path));
  if (system !== undefined) return system;
  const bundled = chromium.executablePath();
  return bundled !== '' && existsSync(bundled) ? bundled : undefined;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined)
    throw new Error(
      'No Chromium found: install it (Debian: apt-get install chromium) or set NEXUS_CHROMIUM to its path.',
    );
  // No sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}
