import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import {
  CALENDAR_TOKEN,
  chromiumPath,
  launchChromium,
  seedDashboard,
  spawnServer,
  type SeedResult,
  type ServerProcess,
} from '../src/testing/index.ts';

/**
 * The dashboard in a real Chromium (Debian's `chromium`, which `.ci/run` installs) against the
 * API as a process on real sockets, with the sample data of `seedDashboard` stored through the
 * API. Every page and action on embedded storage; the main pages once more on Azurite.
 */
const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;
const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

if (chromiumPath() === undefined && process.env['NEXUS_SKIP_BROWSER_TESTS'] !== '1')
  throw new Error(
    'The dashboard tests need Chromium: apt-get install chromium (or set NEXUS_CHROMIUM), or NEXUS_SKIP_BROWSER_TESTS=1 to skip them.',
  );
const browserTests = chromiumPath() === undefined ? describe.skip : describe;

interface Site {
  server: ServerProcess;
  seed: SeedResult;
  browser: Browser;
  readerKey: string;
}

async function openSite(env: Record<string, string>): Promise<Site> {
  const server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-dash-')), {
    NEXUS_API_KEYS: ADMIN_KEY,
    ...env,
  });
  const seed = await seedDashboard({ url: server.url, key: ADMIN_KEY, sessionsPerAgent: 8 });
  const created = await fetch(`${server.url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'reader', hosts: ['laptop'], label: 'browser test' }),
  });
  const { key } = (await created.json()) as { key: string };
  return { server, seed, browser: await launchChromium(), readerKey: key };
}

async function loggedIn(
  site: Site,
  key = ADMIN_KEY,
  options = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await site.browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`${site.server.url}/login`);
  await page.fill('#key', key);
  await Promise.all([
    page.waitForURL(`${site.server.url}/`),
    page.click('form[action="/login"] button'),
  ]);
  return { context, page };
}

/** The id of the focused element (runs in the page; the project has no DOM types). */
function activeId(): string | undefined {
  return (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document
    .activeElement?.id;
}

/** How far the page is wider than the window (runs in the page). */
function overflowX(): number {
  const w = globalThis as unknown as {
    innerWidth: number;
    document: { documentElement: { scrollWidth: number } };
  };
  return w.document.documentElement.scrollWidth - w.innerWidth;
}

/** axe-core's serious and critical findings on the page (CSP bypassed to inject it). */
async function axeProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: await readFile(AXE_SOURCE, 'utf8') });
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: () => Promise<{
            violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      at: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${v.at.join(', ')}`);
}

browserTests('the dashboard in Chromium, embedded storage', () => {
  let site: Site;
  beforeAll(async () => {
    site = await openSite({});
  }, 120_000);
  afterAll(async () => {
    await site.browser.close();
    await site.server.stop();
  });
  const url = (path: string) => `${site.server.url}${path}`;
  const sessionPath = (s: { hostId: string; agentId: string; sessionId: string }) =>
    `/hosts/${s.hostId}/agents/${s.agentId}/sessions/${s.sessionId}`;

  it('sends a visitor to the login page, refuses a wrong key, logs in and out', async () => {
    const context = await site.browser.newContext();
    const page = await context.newPage();
    await page.goto(url('/sessions?state=live'));
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#key', 'not-a-key-at-all-0000');
    await page.click('form[action="/login"] button');
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain('not valid');
    await page.fill('#key', ADMIN_KEY);
    await Promise.all([
      page.waitForURL(url('/sessions?state=live')),
      page.click('form[action="/login"] button'),
    ]);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'nexus_login', httpOnly: true, sameSite: 'Strict' });
    expect(cookie?.value).not.toContain(ADMIN_KEY);
    expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000);
    await Promise.all([
      page.waitForURL(/\/login\?reason=logged-out/),
      page.click('form.logout button'),
    ]);
    await page.goto(url('/'));
    expect(new URL(page.url()).pathname).toBe('/login');
    await context.close();
  });

  it('serves every page with a strict CSP and no framing', async () => {
    const { context, page } = await loggedIn(site);
    const response = await page.goto(url('/'));
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    await context.close();
  });

  it('overview: each host with its health, last run, agents, sessions, cost and webhooks', async () => {
    const { context, page } = await loggedIn(site);
    const laptop = page.locator('section', {
      has: page.locator('h2', { hasText: "Ana's laptop" }),
    });
    await expect(laptop.locator('.badge').textContent()).resolves.toContain('healthy');
    const server = page.locator('section', { has: page.locator('h2', { hasText: 'Home server' }) });
    await expect(server.locator('.badge').textContent()).resolves.toContain('failing');
    await expect(server.textContent()).resolves.toContain('disk full');
    const mainRow = laptop.locator('tbody tr', { hasText: 'main' });
    // 8 plain sessions, the rich one and the hostile one; 3 waiting, 1 dead.
    await expect(mainRow.locator('td').nth(1).textContent()).resolves.toBe('10');
    await expect(mainRow.locator('td').nth(4).textContent()).resolves.toBe(
      String(site.seed.webhooks.pending),
    );
    expect((await mainRow.locator('td').nth(5).textContent())?.trim()).toBe(
      String(site.seed.webhooks.dead),
    );
    await mainRow.locator('td').nth(5).locator('a').click();
    expect(page.url()).toContain('/webhooks?host=laptop&agent=main&state=dead');
    await context.close();
  });

  it('sessions: filters without a reload, sorts, and links each session', async () => {
    const { context, page } = await loggedIn(site);
    await page.goto(url('/sessions'));
    const rows = page.locator('#results tbody tr');
    const before = await rows.count();
    expect(before).toBe(site.seed.sessions);
    let reloaded = false;
    page.on('load', () => {
      reloaded = true;
    });
    await page.selectOption('select[name=state]', 'deleted');
    await page.waitForURL(/state=deleted/);
    await expect.poll(() => rows.count()).toBeLessThan(before);
    for (const badge of await page.locator('#results tbody .badge').allTextContents())
      expect(badge).toBe('deleted');
    expect(reloaded).toBe(false);

    await page.goto(url('/sessions?q=CAFE+lait'));
    await expect(rows.first().textContent()).resolves.toContain('Café au lait');
    await page.goto(url('/sessions?sort=cost'));
    const costs = (await page.locator('#results tbody td:nth-child(8)').allTextContents()).map(
      (t) => Number(t.replace(/[$,]/g, '')),
    );
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    await page.goto(url('/sessions?state=nonsense'));
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain(
      'state must be one of',
    );
    await context.close();
  });

  it('a session: messages, thinking, tool calls with results, image, markers, totals', async () => {
    const { context, page } = await loggedIn(site);
    const { rich } = site.seed;
    await page.goto(url(sessionPath(rich)));
    await expect(page.locator('h1').textContent()).resolves.toBe(rich.title);
    const thinking = page.locator('details.thinking').first();
    expect(await thinking.getAttribute('open')).toBeNull();
    const failed = page.locator(`details#e-${rich.entries['failedTool'] ?? ''}`);
    await expect(failed.getAttribute('class')).resolves.toContain('errored');
    await failed.locator('summary').click();
    await expect(failed.textContent()).resolves.toContain('ETIMEDOUT');
    const image = page.locator('img.thumb').first();
    await expect
      .poll(() => image.evaluate((img: { naturalWidth: number }) => img.naturalWidth))
      .toBe(4);
    await expect(
      page.locator('.entry.marker', { hasText: 'Compacted' }).textContent(),
    ).resolves.toContain('48 k tokens before');
    await expect(
      page.locator('.entry.marker', { hasText: 'Model changed' }).last().textContent(),
    ).resolves.toContain('openai/gpt-5');
    await expect(
      page.locator(`#e-${rich.entries['aborted'] ?? ''}`).textContent(),
    ).resolves.toContain('aborted');
    await expect(
      page.locator(`#e-${rich.entries['answer'] ?? ''} .text h2`).textContent(),
    ).resolves.toBe('Tuesday');
    await expect(page.locator('.entry.assistant header').last().textContent()).resolves.toMatch(
      /Σ \$0\.0\d+/,
    );
    await context.close();
  });

  it('a session: permalinks, generations, raw download and keyboard moves', async () => {
    const { context, page } = await loggedIn(site);
    const { rich } = site.seed;
    const answer = rich.entries['answer'] ?? '';
    await page.goto(url(`${sessionPath(rich)}?entry=${answer}#e-${answer}`));
    await expect(page.locator(`#e-${answer}`).isVisible()).resolves.toBe(true);
    const permalink = await page.locator(`#e-${answer} a.permalink`).getAttribute('href');
    expect(permalink).toContain(`entry=${answer}`);

    // j moves to the next entry and puts its permalink in the address bar; k goes back.
    await page.goto(url(sessionPath(rich)));
    await page.keyboard.press('j');
    const first = await page.evaluate(activeId);
    expect(first).toMatch(/^(e|l)-/);
    await page.keyboard.press('j');
    const second = await page.evaluate(activeId);
    expect(second).not.toBe(first);
    expect(page.url()).toContain(`#${second ?? ''}`);
    await page.keyboard.press('k');
    await expect(page.evaluate(activeId)).resolves.toBe(first);
    // Tab reaches the tool calls' summaries; Enter opens one.
    const summary = page.locator('details.tool summary').first();
    await summary.focus();
    await page.keyboard.press('Enter');
    await expect(page.locator('details.tool').first().getAttribute('open')).resolves.toBe('');

    const generations = page.locator('.side ol li');
    await expect(generations.count()).resolves.toBe(2);
    await generations.locator('a').first().click();
    await expect(page.locator('.pager').first().textContent()).resolves.toContain('of 9');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('a[download][href*="/raw"]').click(),
    ]);
    const bytes = await readFile(await download.path());
    expect(bytes.toString('utf8').split('\n')).toHaveLength(10); // 9 lines and the final newline
    // The raw download is exact; the page and the exports mask the token a tool printed.
    expect(bytes.toString('utf8')).toContain(CALENDAR_TOKEN);
    await context.close();
  });

  it('a session: secrets masked on the page and in its Markdown, HTML and JSON exports', async () => {
    const { context, page } = await loggedIn(site);
    await page.goto(url(sessionPath(site.seed.rich)));
    await page.locator('details.tool summary').first().click();
    await expect(page.locator('details.tool').first().textContent()).resolves.toContain(
      '(authorised with [masked google-oauth])',
    );
    await expect(page.content()).resolves.not.toContain(CALENDAR_TOKEN);
    for (const [label, check] of [
      [
        'Markdown',
        /^# Plan my Tuesday[\s\S]*<summary>Tool call: exec · command: gcalcli agenda tuesday<\/summary>/,
      ],
      ['HTML', /^<!doctype html>[\s\S]*Plan my Tuesday/],
      ['JSON', /^\{"format":"nexus\.session-export\.v1"/],
    ] as const) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('.export a', { hasText: label }).click(),
      ]);
      const text = await readFile(await download.path(), 'utf8');
      expect(text).toMatch(check);
      expect(text).toContain('[masked google-oauth]');
      expect(text).not.toContain(CALENDAR_TOKEN);
    }
    await context.close();
  });

  it('search: finds words and CJK, marks them, masks secrets, and opens the message', async () => {
    const { context, page } = await loggedIn(site);
    // The index is built behind the uploads: wait until the seeded sessions are in it.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      await page.goto(url('/search?q=Porto'));
      if ((await page.locator('ol.search-results li').count()) > 0) break;
      await page.waitForTimeout(100);
    }
    await page.locator('input[name=q]').fill('会议');
    await page.locator('form[role=search] button').click();
    await expect(page.locator('ol.search-results mark').first().textContent()).resolves.toBe(
      '会议',
    );

    await page.goto(url(`/search?q=authorised&role=all`));
    const snippet = page.locator('ol.search-results .snippet').first();
    await expect(snippet.textContent()).resolves.toContain('[masked google-oauth]');
    await expect(page.content()).resolves.not.toContain(CALENDAR_TOKEN);
    // Without tools the tool result is not searched.
    await page.goto(url('/search?q=authorised'));
    await expect(page.locator('ol.search-results li').count()).resolves.toBe(0);
    await expect(page.locator('[role=status]').textContent()).resolves.toContain(
      'No message matches.',
    );

    await page.goto(url('/search?q=%22train+to+Porto%22'));
    await expect(page.locator('ol.search-results mark').first().textContent()).resolves.toBe(
      'train to Porto',
    );
    await page.locator('ol.search-results a', { hasText: 'Open this message' }).first().click();
    await page.waitForURL(/entry=/);
    const hash = new URL(page.url()).hash;
    await expect(page.locator(hash).textContent()).resolves.toContain('Plan my Tuesday');
    await context.close();
  });

  it('renders a hostile transcript inert and readable, with or without the CSP', async () => {
    for (const bypassCSP of [false, true]) {
      const { context, page } = await loggedIn(site, ADMIN_KEY, { bypassCSP });
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await page.goto(url(sessionPath(site.seed.hostile)));
      await page.locator('details summary').evaluateAll((all: { click: () => void }[]) => {
        for (const summary of all) summary.click();
      });
      await expect(
        page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
      ).resolves.toBeUndefined();
      expect(dialogs).toEqual([]);
      // Only the app's own script, no element or handler from the transcript.
      await expect(page.locator('script').count()).resolves.toBe(1);
      await expect(
        page.locator('main iframe, main style, main svg[onload], main [onerror]').count(),
      ).resolves.toBe(0);
      const hrefs = await page
        .locator('main a')
        .evaluateAll((links: { getAttribute: (name: string) => string | null }[]) =>
          links.map((a) => a.getAttribute('href') ?? ''),
        );
      expect(hrefs.filter((href) => /^\s*javascript:/i.test(href))).toEqual([]);
      // Readable: the markup shows as text, the title too, and the 2 MB line is cut with a note.
      await expect(page.locator('h1').textContent()).resolves.toBe(site.seed.hostile.title);
      await expect(page.locator('main').textContent()).resolves.toContain('<img src=x onerror=');
      await expect(page.locator('.truncated').first().textContent()).resolves.toContain(
        'raw download',
      );
      const width = await page.evaluate(overflowX);
      expect(width).toBeLessThanOrEqual(0);
      await context.close();
    }
  });

  it('usage: a stacked chart with the same numbers in a table, and the CSV', async () => {
    const { context, page } = await loggedIn(site);
    await page.goto(url('/usage?by=model'));
    await expect(page.locator('.chart > svg rect').count()).resolves.toBeGreaterThan(5);
    await expect(page.locator('.legend li').allTextContents()).resolves.toEqual(
      expect.arrayContaining([
        expect.stringContaining('claude-sonnet-4-5'),
        expect.stringContaining('gpt-5'),
      ]),
    );
    const tableTotal = (await page.locator('#results tbody td:last-child').allTextContents())
      .map((t) => Number(t.replace(/[$,]/g, '')))
      .reduce((a, b) => a + b, 0);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('a[href^="/usage.csv"]').click(),
    ]);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split('\r\n');
    expect(csv[0]).toBe(
      'day,host,agent,provider,model,messages,input,output,cache_read,cache_write,total_tokens,cost_usd',
    );
    const csvTotal = csv.slice(1).reduce((sum, row) => sum + Number(row.split(',').at(-1)), 0);
    // The table shows cents (or four places under a cent) per day: equal within its rounding.
    expect(Math.abs(csvTotal - tableTotal)).toBeLessThan(0.01 * csv.length);
    expect(csvTotal).toBeGreaterThan(0);
    await page.selectOption('select[name=by]', 'host');
    await expect
      .poll(() => page.locator('.legend li').allTextContents())
      .toEqual(
        expect.arrayContaining([
          expect.stringContaining('laptop'),
          expect.stringContaining('server'),
        ]),
      );
    await context.close();
  });

  it('webhooks: the log, an item with masked headers and its body, replay one and many', async () => {
    const { context, page } = await loggedIn(site);
    await page.goto(url('/webhooks?host=laptop&agent=main'));
    await expect(page.locator('#results tbody tr').count()).resolves.toBe(6);
    await page.selectOption('select[name=state]', 'dead');
    await expect.poll(() => page.locator('#results tbody tr').count()).toBe(1);
    await page.locator('#results tbody a').first().click();
    const signature = page.locator('tr', { hasText: 'x-hub-signature-256' });
    await expect(signature.textContent()).resolves.toContain('masked');
    expect(await page.content()).not.toMatch(/sha256=[0-9a-f]{64}/);
    await expect(
      page.locator('details', { hasText: 'Pretty-printed' }).textContent(),
    ).resolves.toContain('"repository"');
    await expect(page.locator('.side').textContent()).resolves.toContain('gateway answered 400');
    const attempts = page.locator('table', { has: page.locator('th', { hasText: 'Gateway' }) });
    await expect(attempts.locator('tbody tr').first().textContent()).resolves.toMatch(
      /rejected\s*400\s*gateway answered 400/,
    );
    await page.click('button:has-text("Replay")');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('Queued again');
    await expect(page.locator('.side .badge').first().textContent()).resolves.toBe('pending');

    await page.goto(url('/webhooks/replay?host=laptop&agent=main&state=delivered'));
    await expect(page.locator('main').innerText()).resolves.toMatch(/2\s+items match/);
    await page.click('button:has-text("Replay 2 items")');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain(
      'Queued 2 items again',
    );
    await context.close();
  });

  it('endpoints: create shows the URL, the secret once and the setup steps; rotate; pause, filter, resume; disable', async () => {
    const { context, page } = await loggedIn(site);
    await page.goto(url('/endpoints'));
    await page.selectOption('form[action="/endpoints"] select[name=provider]', 'github');
    await page.fill('form[action="/endpoints"] input[name=id]', 'gh-browser');
    await page.click('form[action="/endpoints"] button');
    const card = page.locator('section', { hasText: 'Endpoint gh-browser created' });
    await expect(card.textContent()).resolves.toContain('/hooks/gh-browser');
    await expect(card.textContent()).resolves.toContain('Settings > Webhooks');
    const secret = (await card.locator('.secret').nth(1).textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    await page.goto(url('/endpoints'));
    expect(await page.content()).not.toContain(secret);

    const row = page.locator('tr', { hasText: 'gh-browser' });
    await row.locator('button:has-text("Add a secret")').click();
    await expect(page.locator('section h2').first().textContent()).resolves.toContain(
      'New secret for gh-browser',
    );
    await page.goto(url('/endpoints'));
    const ghRow = () => page.locator('tr', { hasText: 'gh-browser' });
    await ghRow().locator('button:has-text("Pause")').click();
    await expect(ghRow().locator('.badge').textContent()).resolves.toBe('paused');
    await ghRow().locator('input[name=events]').fill('issues, pull_request*');
    await ghRow().locator('button:has-text("Set")').click();
    await expect(ghRow().textContent()).resolves.toContain('only issues, pull_request*');
    await ghRow().locator('input[name=events]').fill('in*valid');
    await ghRow().locator('button:has-text("Set")').click();
    await expect(page.locator('[role=alert]').textContent()).resolves.toMatch(/events/);
    await page.goto(url('/endpoints'));
    await ghRow().locator('button:has-text("Resume")').click();
    await expect(ghRow().locator('.badge').textContent()).resolves.toBe('active');
    await ghRow().locator('button:has-text("Disable")').click();
    await expect(
      page.locator('tr', { hasText: 'gh-browser' }).locator('.badge').textContent(),
    ).resolves.toBe('disabled');
    await page.selectOption('form[action="/endpoints"] select[name=provider]', 'hmac');
    await page.fill('form[action="/endpoints"] input[name=id]', 'bad id!');
    await page
      .locator('form[action="/endpoints"] input[name=id]')
      .evaluate((input: { removeAttribute: (name: string) => void }) => {
        input.removeAttribute('pattern');
      });
    await page.click('form[action="/endpoints"] button');
    await expect(page.locator('[role=alert]').textContent()).resolves.toMatch(
      /endpoint id|header/i,
    );
    await context.close();
  });

  it('hosts and keys: create a reader key, shown once; revoke it, and its login ends', async () => {
    const { context, page } = await loggedIn(site);
    await page.goto(url('/admin'));
    await expect(page.locator('table').first().textContent()).resolves.toContain('Home server');
    await page.fill('form[action="/admin/keys"] input[name=label]', 'for Ana');
    await page.click('form[action="/admin/keys"] button');
    const key = ((await page.locator('p.secret').textContent()) ?? '').trim();
    expect(key).toMatch(/^nxk_/);
    const reader = await loggedIn(site, key);
    await expect(reader.page.locator('nav').textContent()).resolves.not.toContain('Hosts & keys');
    await page.locator('tr', { hasText: 'for Ana' }).locator('button:has-text("Revoke")').click();
    await expect(page.locator('tr', { hasText: 'for Ana' }).textContent()).resolves.toContain(
      'revoked',
    );
    // Rows are cached up to 5 s in the server: the reader's login ends within that.
    await expect
      .poll(
        async () => {
          await reader.page.goto(url('/'));
          return new URL(reader.page.url()).pathname;
        },
        { timeout: 15_000, interval: 1000 },
      )
      .toBe('/login');
    await reader.context.close();
    await context.close();
  });

  it('a reader sees and cannot act; actions need this site and a form token', async () => {
    const { context, page } = await loggedIn(site, site.readerKey);
    await expect(page.locator('nav').textContent()).resolves.not.toContain('Hosts & keys');
    await expect(page.locator('main').textContent()).resolves.not.toContain('Home server'); // a reader of laptop only
    await page.goto(url('/admin'));
    await expect(page.locator('h1').textContent()).resolves.toBe('Error 403');
    await page.goto(url('/webhooks?host=laptop&agent=main'));
    await page.locator('#results tbody a').first().click();
    await expect(page.locator('button:has-text("Replay")').count()).resolves.toBe(0);
    const csrf = await page.locator('form.logout input[name=csrf]').inputValue();
    const itemPath = new URL(page.url()).pathname;
    const cookie = (await context.cookies())[0]?.value ?? '';
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(url(`${itemPath}/replay`), {
        method: 'POST',
        redirect: 'manual',
        body,
        headers: {
          cookie: `nexus_login=${cookie}`,
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
        },
      });
    // The reader's own token: the API refuses the action for its key.
    const asReader = await post(`csrf=${csrf}`);
    expect(asReader.status).toBe(403);
    expect(await asReader.text()).toContain('needs an admin key');
    await context.close();

    const admin = await loggedIn(site);
    const adminCookie = (await admin.context.cookies())[0]?.value ?? '';
    const adminCsrf = await admin.page.locator('form.logout input[name=csrf]').inputValue();
    // An action that always succeeds for an admin: enabling an enabled endpoint.
    const send = (body: string, headers: Record<string, string>) =>
      fetch(url('/endpoints/stripe-billing/enable'), {
        method: 'POST',
        redirect: 'manual',
        body,
        headers: {
          cookie: `nexus_login=${adminCookie}`,
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
        },
      });
    expect((await send('', {})).status).toBe(403); // no token
    expect((await send(`csrf=${adminCsrf}x`, {})).status).toBe(403); // a wrong one
    expect((await send(`csrf=${adminCsrf}`, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await send(`csrf=${adminCsrf}`, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await send(`csrf=${adminCsrf}`, { origin: site.server.url })).status).toBe(303);
    await admin.context.close();
  });

  it('a session: an admin deletes it from its page, after ticking the box; a reader cannot', async () => {
    const { text } = buildTranscript({ sessionId: 'to-delete', turns: 2 });
    const sha = createHash('sha256').update(text).digest('hex');
    const put = await fetch(
      url(
        `/v1/hosts/laptop/agents/main/sessions/to-delete/transcripts/${sha}?kind=live&fileName=to-delete.jsonl`,
      ),
      { method: 'PUT', body: text, headers: { authorization: `Bearer ${ADMIN_KEY}` } },
    );
    expect(put.status).toBe(201);
    const path = sessionPath({ hostId: 'laptop', agentId: 'main', sessionId: 'to-delete' });

    const reader = await loggedIn(site, site.readerKey);
    await reader.page.goto(url(path));
    await expect(reader.page.locator('button:has-text("Delete session")').count()).resolves.toBe(0);
    await expect(reader.page.locator('aside').textContent()).resolves.toContain(
      'An admin key can delete this session.',
    );
    await reader.context.close();

    const { context, page } = await loggedIn(site);
    await page.goto(url(path));
    const button = page.locator('button:has-text("Delete session")');
    await expect(button.isVisible()).resolves.toBe(false); // folded away
    await page.click('summary:has-text("Delete this session")');
    // The box is required: pressing the button without it sends nothing.
    await button.click();
    expect(new URL(page.url()).pathname).toBe(path);
    await page.check('input[name=confirm]');
    await Promise.all([page.waitForURL(url(`${path}/delete`)), button.click()]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Session deleted');
    await expect(page.locator('[role=status]').textContent()).resolves.toMatch(
      /to-delete of laptop \/ main is deleted\.\s+Generations: 1 ·/,
    );
    await page.click('a:has-text("Back to the sessions")');
    await expect(page.locator('main').textContent()).resolves.not.toContain('to-delete');
    await page.goto(url(path));
    await expect(page.locator('main').textContent()).resolves.toContain(
      'no stored session to-delete',
    );
    const gone = await fetch(url(`/v1/hosts/laptop/agents/main/sessions/to-delete`), {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(gone.status).toBe(404);
    await context.close();
  });

  it('has no serious or critical accessibility problems on the main pages (axe-core)', async () => {
    const { context, page } = await loggedIn(site, ADMIN_KEY, { bypassCSP: true });
    const problems: string[] = [];
    for (const path of [
      '/',
      '/sessions',
      sessionPath(site.seed.rich),
      '/usage',
      '/search?q=Porto',
      '/webhooks',
      '/endpoints',
      '/admin',
    ]) {
      await page.goto(url(path));
      problems.push(...(await axeProblems(page)).map((p) => `${path}: ${p}`));
    }
    await page.goto(url('/login'));
    problems.push(...(await axeProblems(page)).map((p) => `/login: ${p}`));
    expect(problems).toEqual([]);
    await context.close();
  });
});

browserTests('the dashboard in Chromium, Azure storage (Azurite)', () => {
  let site: Site;
  beforeAll(async () => {
    site = await openSite({
      NEXUS_STORAGE: 'azure',
      AZURE_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      NEXUS_AZURE_CONTAINER: `dash-${randomBytes(4).toString('hex')}`,
      NEXUS_AZURE_TABLE_PREFIX: `d${randomBytes(4).toString('hex')}`,
    });
  }, 120_000);
  afterAll(async () => {
    await site.browser.close();
    await site.server.stop();
  });

  it('shows the overview, sessions, a session, usage and webhooks', async () => {
    const { context, page } = await loggedIn(site);
    const url = (path: string) => `${site.server.url}${path}`;
    await expect(page.locator('main').textContent()).resolves.toContain("Ana's laptop");
    await page.goto(url('/sessions'));
    await expect(page.locator('#results tbody tr').count()).resolves.toBe(site.seed.sessions);
    const { rich } = site.seed;
    await page.goto(url(`/hosts/${rich.hostId}/agents/${rich.agentId}/sessions/${rich.sessionId}`));
    await expect(page.locator('details.tool').count()).resolves.toBe(2);
    await page.goto(url('/usage'));
    await expect(page.locator('.chart > svg rect').count()).resolves.toBeGreaterThan(5);
    await page.goto(url('/webhooks'));
    await expect(page.locator('#results tbody tr').count()).resolves.toBe(6);
    await context.close();
  });
});
