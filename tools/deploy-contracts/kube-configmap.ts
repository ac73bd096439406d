import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** One ConfigMap's data and the version it was read at (the precondition of a later update). */
export interface ConfigMapSnapshot {
  readonly data: Record<string, string>;
  readonly resourceVersion: string;
}

/**
 * Where the contracts Job publishes the addresses: one ConfigMap. Every change is conditional, so
 * that two runs (a retry beside a late pod, a second Job made by hand) never overwrite each other.
 */
export interface ConfigMapStore {
  /** The ConfigMap, or undefined when it does not exist. */
  read(): Promise<ConfigMapSnapshot | undefined>;
  /** Creates the ConfigMap with `data`; false when it exists already (409), nothing written. */
  create(data: Record<string, string>): Promise<boolean>;
  /** Merges `data` into the ConfigMap if it is still at `resourceVersion`; false when it changed since (409). */
  update(data: Record<string, string>, resourceVersion: string): Promise<boolean>;
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code = 'KUBE_API_FAILED';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** How long one Kubernetes API request may take. */
export const KUBE_REQUEST_TIMEOUT_MS = 10_000;
/** The most of an API answer the Job reads (a ConfigMap is at most 1 MiB). */
const KUBE_BODY_BYTES_MAX = 2 * 1024 * 1024;
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeApi {
  /** e.g. https://10.0.0.1:443 (in a pod: from KUBERNETES_SERVICE_HOST/PORT). */
  readonly server: string;
  readonly token?: string;
  /** PEM of the API server's CA (in a pod: the service account's ca.crt). */
  readonly ca?: string;
}

/** The API server as a pod sees it: its Service's address, the service account's token and CA. */
export function inClusterApi(env: NodeJS.ProcessEnv = process.env): KubeApi & { namespace: string } {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new KubeApiError('KUBERNETES_SERVICE_HOST is not set: the Job runs in a pod with a service account token', 0);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: readFileSync(`${SA_DIR}/token`, 'utf8').trim(),
    ca: readFileSync(`${SA_DIR}/ca.crt`, 'utf8'),
    namespace: readFileSync(`${SA_DIR}/namespace`, 'utf8').trim(),
  };
}

/**
 * The three calls the Job needs of the core API (GET, POST, PATCH of one ConfigMap), on node's
 * http(s) so that the pod's CA is trusted. The RBAC Role allows exactly these on this one name.
 */
export function kubeConfigMapStore(api: KubeApi, namespace: string, name: string): ConfigMapStore {
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  const item = `${collection}/${encodeURIComponent(name)}`;
  const call = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    send(api, method, path, body === undefined ? undefined : { text: JSON.stringify(body), contentType });
  return {
    async read() {
      const r = await call('GET', item);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new KubeApiError(`GET configmap ${namespace}/${name}: ${r.status} ${r.text.slice(0, 500)}`, r.status);
      const cm = JSON.parse(r.text) as { data?: Record<string, string>; metadata?: { resourceVersion?: string } };
      return { data: cm.data ?? {}, resourceVersion: cm.metadata?.resourceVersion ?? '' };
    },
    async create(data) {
      const created = await call('POST', collection, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
      if (created.status === 201 || created.status === 200) return true;
      if (created.status === 409) return false;
      throw new KubeApiError(`POST configmap ${namespace}/${name}: ${created.status} ${created.text.slice(0, 500)}`, created.status);
    },
    async update(data, resourceVersion) {
      // a merge patch that names metadata.resourceVersion is applied only at that version: the API server answers 409 otherwise
      const patched = await call('PATCH', item, { metadata: { resourceVersion }, data }, 'application/merge-patch+json');
      if (patched.status === 200) return true;
      if (patched.status === 409) return false;
      throw new KubeApiError(`PATCH configmap ${namespace}/${name}: ${patched.status} ${patched.text.slice(0, 500)}`, patched.status);
    },
  };
}

function send(api: KubeApi, method: string, path: string, body?: { text: string; contentType: string }): Promise<{ status: number; text: string }> {
  const url = new URL(path, api.server);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: api.ca,
        timeout: KUBE_REQUEST_TIMEOUT_MS,
        headers: {
          accept: 'application/json',
          ...(api.token ? { authorization: `Bearer ${api.token}` } : {}),
          ...(body ? { 'content-type': body.contentType, 'content-length': Buffer.byteLength(body.text) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > KUBE_BODY_BYTES_MAX) req.destroy(new KubeApiError(`${method} ${path}: answer over ${KUBE_BODY_BYTES_MAX} bytes`, res.statusCode ?? 0));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new KubeApiError(`${method} ${path}: no answer in ${KUBE_REQUEST_TIMEOUT_MS} ms`, 0)));
    req.on('error', reject);
    req.end(body?.text);
  });
}
