/**
 * Where `npm run build` puts what runs: dist/ mirrors the repo, so each service's entry is
 * dist/apps/<app>/src/main.js (the image keeps the same paths under /app). The stack launcher,
 * the specs and the Kubernetes manifests name these paths.
 */
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const DIST_DIR = join(REPO_ROOT, 'dist');

export type BuiltApp = 'gateway' | 'registry' | 'intake' | 'matching' | 'deployer' | 'settlement' | 'provider-agent';

/** An app's entry, relative to the repo root (and to the image's WORKDIR). */
export const entryOf = (app: BuiltApp): string => `dist/apps/${app}/src/main.js`;

export const BUILT_APPS: readonly BuiltApp[] = ['gateway', 'registry', 'intake', 'matching', 'deployer', 'settlement', 'provider-agent'];

/** Every entry the image can run: the apps, and the Job that deploys the contracts (deploy/k8s/base/deploy-contracts.yaml). */
export const ENTRY_POINTS: Readonly<Record<BuiltApp | 'deploy-contracts', string>> = {
  ...(Object.fromEntries(BUILT_APPS.map((app) => [app, entryOf(app)])) as Record<BuiltApp, string>),
  'deploy-contracts': 'dist/tools/deploy-contracts/main.js',
};
