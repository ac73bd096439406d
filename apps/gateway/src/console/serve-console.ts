import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** Where the gateway serves the web console (apps/console, built by `npm run build:console`). */
export const CONSOLE_PATH = '/app';
/** The console's build when CONSOLE_DIR does not say: dist/console under the working directory (the repo's root, where `npm start` runs the gateway). */
export const CONSOLE_DIR_DEFAULT = resolve('dist', 'console');

/**
 * What a console page may load: its own scripts and styles (charts set inline styles), images it
 * draws, and the API on the same origin; it is never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function consoleHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONSOLE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
}

/**
 * Serves the console's static files under /app/ (express.static through Nest's useStaticAssets):
 * hashed assets cached for a year, and every other /app path answered with index.html (the
 * console routes in the browser), never cached. Without a build, /app answers 404
 * CONSOLE_NOT_BUILT, and the boot says how to build it. Returns whether the console is served.
 */
export function serveConsole(app: NestExpressApplication, dir = process.env.CONSOLE_DIR || CONSOLE_DIR_DEFAULT): boolean {
  const index = join(dir, 'index.html');
  const built = existsSync(index);
  if (built) {
    app.useStaticAssets(join(dir, 'assets'), { prefix: `${CONSOLE_PATH}/assets/`, immutable: true, maxAge: '365d', fallthrough: false, setHeaders: (res) => consoleHeaders(res) });
  } else {
    new Logger('console').warn(`the web console is not built (no ${index}): ${CONSOLE_PATH}/ answers 404 CONSOLE_NOT_BUILT; build it with npm run build:console`);
  }
  app.use((req: IncomingMessage, res: ServerResponse & { sendFile(path: string, opts: object): void }, next: () => void) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!built) {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: { code: 'CONSOLE_NOT_BUILT', message: 'the web console is not built on this gateway (npm run build:console)', details: {} } }));
      return;
    }
    consoleHeaders(res);
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  });
  return built;
}
