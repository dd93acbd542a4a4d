/**
 * The dev console page (/__dev/) in a real headless Chromium (Debian's
 * /usr/bin/chromium, driven by playwright-core; no browser is downloaded):
 * it lists the plugin's hooks and endpoints, fires a hook, calls an endpoint
 * as a chosen user with chosen permissions, shows the live log and follows a
 * reload; a screenshot of it is checked to be a rendered page, not a blank one.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicWrite, cleanupAll, counterProject, pluginSource, startCli, type DevEvent } from './dev-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

afterAll(cleanupAll);

async function launch(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'pxp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await fs.rm(profile, { recursive: true, force: true });
    },
  };
}

/** How much of a PNG is drawn: distinct colours and the share of pixels that are not the background. */
async function inspectPng(page: Page, png: Buffer): Promise<{ width: number; height: number; colours: number; inked: number }> {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const g = canvas.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const { data } = g.getImageData(0, 0, img.width, img.height);
    const colours = new Set<number>();
    let inked = 0;
    const bg = [data[0], data[1], data[2]];
    for (let i = 0; i < data.length; i += 4) {
      colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      if (Math.abs(data[i]! - bg[0]!) + Math.abs(data[i + 1]! - bg[1]!) + Math.abs(data[i + 2]! - bg[2]!) > 30) inked++;
    }
    return { width: img.width, height: img.height, colours: colours.size, inked: inked / (data.length / 4) };
  }, png.toString('base64'));
}

describe('dev console at /__dev/ (headless Chromium)', () => {
  it('fires hooks, calls endpoints as a chosen caller, streams the log and follows reloads; the screenshot shows a rendered page', async () => {
    const dir = await counterProject('v1');
    const dev = startCli(dir, ['dev', '--port', '0', '--json']);
    const ready = (await dev.waitFor((e) => e.event === 'ready')) as DevEvent & { url: string };
    const browser = await launch();
    try {
      const { page } = browser;
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        // The 403 the page asks for on purpose is logged by Chromium as a failed load.
        if (m.type() === 'error' && !/status of 403/.test(m.text())) problems.push(`console: ${m.text()}`);
      });

      await page.goto(`${ready.url}/__dev/`);
      await expect.poll(() => page.textContent('#plugin-name')).toBe('dev_counter 1.0.0');
      expect(await page.textContent('#status')).toBe('serving (generation 1)');
      expect(await page.textContent('#hook-list')).toContain('message_sent');
      expect(await page.textContent('#endpoint-list')).toContain('GET /api/v1/dev_counter/count');
      // The hook form starts with the sample payload.
      expect(JSON.parse(await page.inputValue('#hook-payload'))).toMatchObject({ user_id: 'user_1', content: 'Hello, this is a great day!' });

      // Fire the hook from the form.
      await page.click('#hook-fire');
      await expect.poll(() => page.textContent('#hook-result')).toMatch(/^HTTP 200/);
      expect(await page.textContent('#hook-result')).toContain('"handlers": 1');

      // Call the endpoint as erin with message_read: 200 and the count the hook made.
      await page.selectOption('#endpoint-select', '/api/v1/dev_counter/count');
      await page.fill('#user-input', 'erin');
      const box = page.locator('#perm-list input[data-permission="message_read"]');
      await box.check();
      await page.click('#call-button');
      await expect.poll(() => page.textContent('#call-result')).toMatch(/^HTTP 200/);
      const okText = (await page.textContent('#call-result'))!;
      expect(JSON.parse(okText.replace(/^HTTP 200/, ''))).toMatchObject({ count: 1, user: 'erin', version: 'v1' });

      // Without the permission: the platform's 403.
      await box.uncheck();
      await page.click('#call-button');
      await expect.poll(() => page.textContent('#call-result')).toMatch(/^HTTP 403/);
      expect(await page.textContent('#call-result')).toContain("permission 'message_read' is required");

      // The live log shows the hook and both calls.
      await expect.poll(() => page.locator('#log li[data-event="request"]').count()).toBeGreaterThanOrEqual(2);
      const log = (await page.textContent('#log'))!;
      expect(log).toMatch(/message_sent ok/);
      expect(log).toMatch(/GET \/api\/v1\/dev_counter\/count 200 [\d.]+ ms \(erin\)/);
      expect(log).toMatch(/GET \/api\/v1\/dev_counter\/count 403 [\d.]+ ms \(erin\)/);

      // A save: the log shows the reload and the page shows the new generation.
      await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
      await expect.poll(() => page.locator('#log li[data-event="reloaded"]').count(), { timeout: 20_000 }).toBe(1);
      await expect.poll(() => page.textContent('#status')).toBe('serving (generation 2)');
      // A broken save: the page says the reload failed and where.
      await atomicWrite(path.join(dir, 'src', 'plugin.py'), `${pluginSource('v3')}\ndef broken(:\n`);
      await expect.poll(() => page.textContent('#status'), { timeout: 20_000 }).toBe('serving (generation 2), last reload failed');
      expect(await page.textContent('#failure')).toMatch(/^src\/plugin\.py:\d+ /);

      // The screenshot: the right size, many colours, a fair share of it drawn.
      const shot = await page.screenshot({ fullPage: false });
      const shotFile = path.join(os.tmpdir(), 'plexichat-dev-console.png');
      await fs.writeFile(shotFile, shot);
      expect(shot.subarray(1, 4).toString('latin1')).toBe('PNG');
      const seen = await inspectPng(page, shot);
      expect(seen.width).toBe(1280);
      expect(seen.height).toBe(900);
      expect(seen.colours).toBeGreaterThan(50);
      expect(seen.inked).toBeGreaterThan(0.02);
      // The main panels are laid out side by side and visible.
      const hooks = await page.locator('section').nth(0).boundingBox();
      const endpoints = await page.locator('section').nth(1).boundingBox();
      expect(hooks && endpoints && endpoints.x > hooks.x + hooks.width - 1).toBe(true);

      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await dev.stop();
    }
  });
});
