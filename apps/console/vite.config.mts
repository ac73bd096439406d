// The web console: static files under /app/ (the gateway serves dist/console there).
// `npm run build:console` (vite build --config apps/console/vite.config.mts).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/app/',
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^@starminer\/sdk\/provider$/, replacement: here('../../libs/sdk/src/provider.ts') },
      { find: /^@starminer\/sdk$/, replacement: here('../../libs/sdk/src/index.ts') },
    ],
  },
  build: {
    outDir: here('../../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
});
