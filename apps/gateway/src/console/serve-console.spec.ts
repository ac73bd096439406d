import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { CONSOLE_CSP, serveConsole } from './serve-console';

@Controller()
class ApiController {
  @Get('v1/ping')
  ping() {
    return { pong: true };
  }
}
@Module({ controllers: [ApiController] })
class AppModule {}

async function start(dir: string): Promise<{ url: string; served: boolean; close(): Promise<void> }> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
  const served = serveConsole(app, dir);
  await app.listen(0, '127.0.0.1');
  return { url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), served, close: () => app.close() };
}

describe('the web console under /app/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'console-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('given a build', () => {
    let gw: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      mkdirSync(join(dir, 'built', 'assets'), { recursive: true });
      writeFileSync(join(dir, 'built', 'index.html'), '<!doctype html><title>StarMiner</title><div id="root"></div>');
      writeFileSync(join(dir, 'built', 'assets', 'index-abc123.js'), 'console.log(1)');
      gw = await start(join(dir, 'built'));
    });
    afterAll(() => gw.close());

    it('answers /app/ and every page under it with index.html, uncached, under the console CSP', async () => {
      expect(gw.served).toBe(true);
      for (const path of ['/app', '/app/', '/app/jobs/0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6', '/app/market?gpu=A100']) {
        const res = await fetch(`${gw.url}${path}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(res.headers.get('cache-control')).toBe('no-cache');
        expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(await res.text()).toContain('<title>StarMiner</title>');
      }
    });

    it('serves hashed assets cached for a year, and a missing asset is a 404, not the page', async () => {
      const js = await fetch(`${gw.url}/app/assets/index-abc123.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await js.text()).toBe('console.log(1)');
      expect((await fetch(`${gw.url}/app/assets/gone-000.js`)).status).toBe(404);
    });

    it('leaves the API and paths that only begin like it alone', async () => {
      expect(await (await fetch(`${gw.url}/v1/ping`)).json()).toEqual({ pong: true });
      expect((await fetch(`${gw.url}/apple`)).status).toBe(404);
      expect((await fetch(`${gw.url}/app/`, { method: 'POST' })).status).toBe(404);
    });
  });

  describe('given no build', () => {
    it('answers 404 CONSOLE_NOT_BUILT, saying how to build it', async () => {
      const gw = await start(join(dir, 'nothing-here'));
      try {
        expect(gw.served).toBe(false);
        const res = await fetch(`${gw.url}/app/`);
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({ error: { code: 'CONSOLE_NOT_BUILT', message: expect.stringContaining('npm run build:console'), details: {} } });
      } finally {
        await gw.close();
      }
    });
  });
});
