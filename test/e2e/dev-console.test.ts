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
import { onPath, requires } from '../helpers/requires.js';
import { MANIFEST, atomicWrite, cleanupAll, counterProject, pluginSource, startCli, type DevEvent } from './dev-fixture.js';

const CHROMIUM = onPath('chromium') ?? 'chromium';
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
  it('fires hooks, calls endpoints as a chosen caller, streams the log and follows reloads; the screenshot shows a rendered page', async (ctx) => {
    requires(ctx, 'chromium');
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
      expect(await page.textContent('#failure')).toMatch(/^src\/plugin\.py:\d+:\d+ SyntaxError/);

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
      const hooks = await page.locator('section').nth(1).boundingBox();
      const endpoints = await page.locator('section').nth(2).boundingBox();
      expect(hooks && endpoints && endpoints.x > hooks.x + hooks.width - 1).toBe(true);

      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await dev.stop();
    }
  });

  it('draws errors as errors: a red pill, the line and caret, findings by severity, unimplemented endpoints, the whole sample, no SDK path (pixels checked)', async () => {
    const dir = await counterProject('v1');
    // Declared but not implemented: a hook and an endpoint.
    await fs.writeFile(
      path.join(dir, 'config', 'plugin.yaml'),
      MANIFEST.replace('hooks:\n  - message_sent\n', 'hooks:\n  - message_sent\n  - user_login\n').replace(
        '  - /api/v1/dev_counter/boom\n',
        '  - /api/v1/dev_counter/boom\n  - /api/v1/dev_counter/missing\n',
      ),
    );
    const dev = startCli(dir, ['dev', '--port', '0', '--json']);
    const ready = (await dev.waitFor((e) => e.event === 'ready')) as DevEvent & { url: string };
    await dev.waitFor((e) => e.event === 'validated');
    const browser = await launch();
    try {
      const { page } = browser;
      await page.goto(`${ready.url}/__dev/`);
      await expect.poll(() => page.textContent('#status')).toBe('serving (generation 1)');
      await expect.poll(() => page.locator('#findings li.warning').count()).toBe(2);
      expect(await page.textContent('#endpoint-list')).toContain('/api/v1/dev_counter/missing');
      expect(await page.locator('#endpoint-list li', { hasText: '/api/v1/dev_counter/missing' }).textContent()).toContain('declared, no handler');
      expect(await page.locator('#hook-list li', { hasText: 'user_login' }).textContent()).toContain('declared, no handler');
      // The unimplemented endpoint cannot be called from the form.
      expect(await page.locator('#endpoint-select option').allTextContents()).not.toContain('/api/v1/dev_counter/missing');
      // The sample payload is shown whole: the textarea is as tall as its text.
      const payload = await page.$eval('#hook-payload', (t) => ({ scroll: t.scrollHeight, client: t.clientHeight, value: (t as HTMLTextAreaElement).value }));
      expect(payload.value.trim().endsWith('}')).toBe(true);
      expect(payload.scroll).toBeLessThanOrEqual(payload.client);

      // A validation error (an undeclared permission): the plugin runs, but the pill turns red.
      await atomicWrite(
        path.join(dir, 'src', 'plugin.py'),
        pluginSource('v2').replace('require_permission("message_read")', 'require_permission("analytics_read")'),
      );
      await expect.poll(() => page.textContent('#status'), { timeout: 20_000 }).toBe('serving (generation 2), 1 error');
      expect(await page.getAttribute('#status', 'class')).toBe('errors');
      const errLi = page.locator('#findings li.error');
      await expect.poll(() => errLi.count()).toBe(1);
      expect(await errLi.locator('.sev').textContent()).toBe('error');
      expect(await errLi.textContent()).toMatch(/src\/plugin\.py:\d+:\d+ UNDECLARED_PERMISSION/);
      expect(await errLi.evaluate((e) => getComputedStyle(e).color)).toBe('rgb(198, 40, 40)');
      expect(
        await page
          .locator('#findings li.warning')
          .first()
          .evaluate((e) => getComputedStyle(e).color),
      ).toBe('rgb(154, 103, 0)');

      // A syntax error: the line and a caret under the pill; the log's lines in red.
      const lines = pluginSource('v3').split('\n');
      const i = lines.findIndex((l) => l.includes('def count(self, request):'));
      lines[i] = lines[i].replace('def count(self, request):', 'def count(self, request)');
      await atomicWrite(path.join(dir, 'src', 'plugin.py'), lines.join('\n'));
      await expect.poll(() => page.textContent('#status'), { timeout: 20_000 }).toBe('serving (generation 2), last reload failed');
      expect(await page.textContent('#failure')).toBe(`src/plugin.py:${i + 1}:${lines[i].length + 1} SyntaxError: expected ':'`);
      const detail = (await page.textContent('#failure-detail'))!.split('\n');
      expect(detail[0]).toBe(`${i + 1} | def count(self, request)`);
      expect(detail[1].indexOf('^') - detail[0].indexOf('def')).toBe('def count(self, request)'.length);
      await expect.poll(() => page.locator('#log li[data-event="reload_failed"]').count()).toBe(1);
      expect(await page.locator('#log li[data-event="reload_failed"]').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(198, 40, 40)');
      // The validation after it adds the syntax error alone: no "declared but no handler" for every handler.
      await expect.poll(() => page.locator('#findings li.error', { hasText: 'PYTHON_SYNTAX' }).count(), { timeout: 20_000 }).toBe(1);
      expect(await page.locator('#findings li.warning').count()).toBe(2);
      const text = (await page.textContent('body'))!;
      expect(text).not.toMatch(/host_loader|plexichat_plugin_sdk\/|<frozen|importlib|Traceback/);

      // The screenshot of the error state, checked by its pixels: the pill is red on pink, not green.
      await page.evaluate(() => window.scrollTo(0, 0));
      const shot = await page.screenshot({ fullPage: false });
      await fs.writeFile(path.join(os.tmpdir(), 'plexichat-dev-console-error.png'), shot);
      const pill = (await page.locator('#status').boundingBox())!;
      const band = (await page.locator('#failure-detail').boundingBox())!;
      const colours = await page.evaluate(
        async ({ b64, boxes }) => {
          const img = new Image();
          img.src = `data:image/png;base64,${b64}`;
          await img.decode();
          const canvas = document.createElement('canvas');
          canvas.width = img.width;
          canvas.height = img.height;
          const g = canvas.getContext('2d')!;
          g.drawImage(img, 0, 0);
          return boxes.map((b) => {
            const { data } = g.getImageData(Math.round(b.x), Math.round(b.y), Math.max(1, Math.round(b.width)), Math.max(1, Math.round(b.height)));
            const count = new Map<string, number>();
            let red = 0;
            let green = 0;
            for (let k = 0; k < data.length; k += 4) {
              const [r, gg, bl] = [data[k]!, data[k + 1]!, data[k + 2]!];
              const key = `${r},${gg},${bl}`;
              count.set(key, (count.get(key) ?? 0) + 1);
              if (r > 150 && gg < 110 && bl < 110) red++;
              if (gg > 100 && r < 90 && bl < 110) green++;
            }
            const dominant = [...count.entries()].sort((a, b) => b[1] - a[1])[0][0];
            return { dominant, red, green };
          });
        },
        { b64: shot.toString('base64'), boxes: [pill, band] },
      );
      const [pillPx, bandPx] = colours;
      expect(pillPx.dominant).toBe('253,236,236'); // the error pill's background
      expect(pillPx.red).toBeGreaterThan(10); // its red text
      expect(pillPx.green).toBe(0); // nothing of the green "serving" pill
      expect(bandPx.dominant).toBe('253,236,236');
      expect(bandPx.red).toBeGreaterThan(10);
    } finally {
      await browser.close();
      await dev.stop();
    }
  });
});
