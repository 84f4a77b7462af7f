/**
 * `npm run screenshots`: starts the API on a temp folder, stores the sample data of
 * `seedDashboard`, logs in with Chromium and saves the main pages as PNG files in docs/images/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, seedDashboard, spawnServer } from '@nexus/api/testing';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    "Usage: npm run screenshots\n\nSaves the dashboard's main pages, on sample data, as docs/images/dashboard-*.png.\n",
  );
  process.exit(0);
}

const out = fileURLToPath(new URL('../docs/images/', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'nexus-shots-'));
const key = 'screenshot-key-0123456789';
const server = await spawnServer(join(dir, 'api'), { NEXUS_API_KEYS: key });
const browser = await launchChromium();
try {
  const seed = await seedDashboard({ url: server.url, key });
  await mkdir(out, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`${server.url}/login`);
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
  const shots: [string, string][] = [
    ['overview', '/'],
    ['sessions', '/sessions'],
    ['session', `/hosts/laptop/agents/main/sessions/${seed.rich.sessionId}`],
    ['search', '/search?q=calendar'],
    ['usage', '/usage?by=model'],
    ['webhooks', '/webhooks'],
    ['endpoints', '/endpoints'],
  ];
  // The search index fills behind the uploads: wait until it has them.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const status = await fetch(`${server.url}/v1/search/status`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (((await status.json()) as { pending: number }).pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const [name, path] of shots) {
    await page.goto(`${server.url}${path}`);
    if (name === 'session') await page.locator('details.tool summary').first().click();
    const file = join(out, `dashboard-${name}.png`);
    await page.screenshot({ path: file, fullPage: false });
    process.stdout.write(`saved ${file}\n`);
  }
} finally {
  await browser.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
