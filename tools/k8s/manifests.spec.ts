import { privateKeyToAccount } from 'viem/accounts';
import { render, validate, type K8sObject } from './render';

/**
 * deploy/k8s: each overlay renders with kustomize, every object validates against the Kubernetes
 * API schemas (and the CRDs'), and the rendered platform keeps the rules operators rely on.
 */

const SERVICES = ['gateway', 'registry', 'intake', 'matching', 'deployer', 'settlement'] as const;
/** Scaled by an HPA on CPU. */
const STATELESS = ['gateway', 'registry', 'intake'];
/** Exactly one replica, replaced with Recreate: matching's engine is in memory; deployer and settlement each sign with one chain key (nonces). */
const SINGLE = ['matching', 'deployer', 'settlement'];
const IMAGE = 'ghcr.io/starminer/starminer';

type Container = {
  name: string;
  ports?: { name: string; containerPort: number }[];
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  startupProbe?: { httpGet?: { path: string } };
};
type PodSpec = { containers: Container[]; securityContext?: Record<string, unknown>; volumes?: { name: string; emptyDir?: object }[] };
type Workload = K8sObject & { spec: { replicas?: number; strategy?: { type: string }; selector: { matchLabels: Record<string, string> }; template: { spec: PodSpec } } };

const rendered: Record<'dev' | 'prod', K8sObject[]> = { dev: [], prod: [] };
const of = (env: 'dev' | 'prod', kind: string) => rendered[env].filter((o) => o.kind === kind);
const one = <T extends K8sObject = K8sObject>(env: 'dev' | 'prod', kind: string, name: string): T => {
  const found = rendered[env].find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${env}: no ${kind}/${name}`);
  return found as T;
};
const configOf = (env: 'dev' | 'prod') => one<K8sObject & { data: Record<string, string> }>(env, 'ConfigMap', 'starminer-config').data;

beforeAll(() => {
  rendered.dev = render('deploy/k8s/overlays/dev');
  rendered.prod = render('deploy/k8s/overlays/prod');
}, 120_000);

describe.each(['dev', 'prod'] as const)('the %s overlay', (env) => {
  it('renders, and every object validates against the Kubernetes API schema of its kind', () => {
    expect(rendered[env].length).toBeGreaterThan(30);
    expect(rendered[env].flatMap(validate)).toEqual([]);
    expect(rendered[env].every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'starminer')).toBe(true);
  });

  it.each(SERVICES)('%s: probes on the real health paths, resources, a restrictive securityContext, the built entry, a pinned image', (svc) => {
    const d = one<Workload>(env, 'Deployment', svc);
    const pod = d.spec.template.spec;
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    expect(c.livenessProbe?.httpGet?.path).toBe('/health/live');
    expect(c.readinessProbe?.httpGet?.path).toBe('/health/ready');
    expect(c.startupProbe?.httpGet?.path).toBe('/health/live');
    expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(c.resources?.limits).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } }));
    expect(c.securityContext).toEqual(
      expect.objectContaining({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } }),
    );
    expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
    expect(c.command).toEqual(['node', `dist/apps/${svc}/src/main.js`]);
    expect(c.image).toMatch(new RegExp(`^${IMAGE}:(?!latest$)[0-9A-Za-z._-]+$`));
    // the database URL from the CloudNativePG app Secret, never a ConfigMap
    expect(c.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'starminer-pg-app', key: 'uri' });
    expect(c.envFrom?.map((e) => e.configMapRef?.name)).toEqual(['starminer-config', 'starminer-market']);
  });

  it('a PodDisruptionBudget for every service; an HPA (owning the count) for the stateless ones only; matching, deployer and settlement single with Recreate', () => {
    const pdbs = of(env, 'PodDisruptionBudget') as (K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; minAvailable?: number } })[];
    for (const svc of SERVICES) expect(pdbs.some((p) => p.spec.selector.matchLabels.app === svc)).toBe(true);
    const hpas = of(env, 'HorizontalPodAutoscaler') as (K8sObject & { spec: { scaleTargetRef: { name: string }; minReplicas: number; maxReplicas: number } })[];
    expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual([...STATELESS].sort());
    for (const svc of STATELESS) {
      // replicas in the Deployment would reset the HPA's count at every apply
      expect(one<Workload>(env, 'Deployment', svc).spec.replicas).toBeUndefined();
      const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === svc)!;
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas >= hpa.spec.minReplicas]).toEqual([env === 'prod' ? 2 : 1, true]);
    }
    for (const svc of SINGLE) {
      const d = one<Workload>(env, 'Deployment', svc);
      expect(d.spec.replicas).toBe(1);
      expect(d.spec.strategy?.type).toBe('Recreate');
      // a lone pod's PDB must let a drain move it
      expect(pdbs.find((p) => p.spec.selector.matchLabels.app === svc)?.spec.minAvailable).toBeUndefined();
    }
  });

  it('keeps secrets out of ConfigMaps, and every Secret a pod names exists or is made by an operator', () => {
    for (const cm of of(env, 'ConfigMap') as (K8sObject & { data?: Record<string, string> })[]) {
      expect(Object.keys(cm.data ?? {}).filter((k) => /DATABASE_URL|PRIVATE_KEY|TOKEN|MNEMONIC|PASSWORD/.test(k))).toEqual([]);
    }
    const secretsNamed = new Set<string>();
    for (const w of [...of(env, 'Deployment'), ...of(env, 'Job')] as Workload[]) {
      for (const c of w.spec.template.spec.containers) for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) secretsNamed.add(e.valueFrom.secretKeyRef.name);
    }
    const made = new Set([
      ...of(env, 'Secret').map((s) => s.metadata.name),
      ...(of(env, 'ExternalSecret') as (K8sObject & { spec: { target: { name: string } } })[]).map((x) => x.spec.target.name),
      'starminer-pg-app', // CloudNativePG makes it for the Cluster starminer-pg
    ]);
    expect([...secretsNamed].filter((s) => !made.has(s))).toEqual([]);
  });

  it('denies ingress by default; only the gateway is reachable from the ingress controller', () => {
    type Policy = K8sObject & { spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress?: { from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[] }[] } };
    const policies = of(env, 'NetworkPolicy') as Policy[];
    expect(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes('Ingress') && p.spec.ingress === undefined)).toBe(true);
    const fromIngressController = policies.filter((p) => p.spec.ingress?.some((r) => r.from?.some((f) => f.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'ingress-nginx')));
    expect(fromIngressController.map((p) => JSON.stringify(p.spec.podSelector.matchLabels)).sort()).toEqual([JSON.stringify({ 'acme.cert-manager.io/http01-solver': 'true' }), JSON.stringify({ app: 'gateway' })]);
    // cert-manager's HTTP-01 solver pod answers the ingress controller on 8089, or the TLS certificate is never issued
    const solver = policies.find((p) => p.spec.podSelector.matchLabels?.['acme.cert-manager.io/http01-solver'] === 'true') as unknown as { spec: { ingress: { ports: { port: number }[] }[] } };
    expect(solver.spec.ingress.flatMap((r) => r.ports.map((x) => x.port))).toEqual([8089]);
  });
});

describe('prod', () => {
  it('runs NATS as a three-server JetStream cluster on PVCs and the TRADE stream at R3', () => {
    const nats = one<Workload & { spec: { volumeClaimTemplates: unknown[]; serviceName: string } }>('prod', 'StatefulSet', 'nats');
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.volumeClaimTemplates).toHaveLength(1);
    expect(one<K8sObject & { spec: { clusterIP: string } }>('prod', 'Service', nats.spec.serviceName).spec.clusterIP).toBe('None');
    const conf = (of('prod', 'ConfigMap').find((c) => c.metadata.name.startsWith('nats-config-')) as K8sObject & { data: Record<string, string> }).data['nats.conf'];
    for (const i of [0, 1, 2]) expect(conf).toContain(`nats-route://nats-${i}.nats-headless:6222`);
    expect(conf).toMatch(/jetstream \{[^}]*store_dir: \/data\/jetstream/);
    expect(configOf('prod').TRADE_STREAM_REPLICAS).toBe('3');
    expect(configOf('dev').TRADE_STREAM_REPLICAS).toBe('1');
  });

  it('runs Postgres as three CloudNativePG instances with backups; dev as one', () => {
    const prod = one<K8sObject & { spec: { instances: number; backup?: { barmanObjectStore?: { destinationPath: string } } } }>('prod', 'Cluster', 'starminer-pg');
    expect(prod.spec.instances).toBe(3);
    expect(prod.spec.backup?.barmanObjectStore?.destinationPath).toMatch(/^s3:\/\//);
    expect(one<K8sObject & { spec: { instances: number } }>('dev', 'Cluster', 'starminer-pg').spec.instances).toBe(1);
  });

  it('takes its keys from the vault through external-secrets, no Secret in the manifests, and serves the gateway over TLS', () => {
    expect(of('prod', 'Secret')).toEqual([]);
    expect(of('prod', 'ExternalSecret').map((x) => x.metadata.name).sort()).toEqual(['starminer-admin', 'starminer-keys', 'starminer-pg-backup']);
    const ingress = one<K8sObject & { spec: { tls: { secretName: string }[]; rules: { http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] } }[] } }>('prod', 'Ingress', 'gateway');
    expect(ingress.spec.tls[0].secretName).toBeTruthy();
    // the API and its docs only: /metrics and /health/* are served on the same port and stay inside the cluster
    expect(ingress.spec.rules.flatMap((r) => r.http.paths.map((p) => [p.path, p.pathType, p.backend.service.name]))).toEqual([
      ['/v1', 'Prefix', 'gateway'],
      ['/docs', 'Prefix', 'gateway'],
    ]);
  });

  it('deploys the alert rules, a PodMonitor of every service, and the Grafana dashboard for the sidecar', () => {
    const rule = one<K8sObject & { spec: { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] } }>('prod', 'PrometheusRule', 'starminer-alerts');
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.map((r) => r.alert).sort()).toEqual(
      ['StarminerChainUnreachable', 'StarminerHighErrorRate', 'StarminerJobsStuckPastDeadline', 'StarminerParkedEvents', 'StarminerProjectionStalled'].sort(),
    );
    for (const r of alerts) expect(r.annotations.runbook_url).toBe(`https://github.com/starminer/starminer/blob/main/docs/OPERATIONS.md#${r.alert.toLowerCase()}`);
    const monitor = one<K8sObject & { spec: { selector: { matchExpressions: { values: string[] }[] }; podMetricsEndpoints: { port: string; path: string }[] } }>('prod', 'PodMonitor', 'starminer-services');
    expect(monitor.spec.selector.matchExpressions[0].values.sort()).toEqual([...SERVICES].sort());
    expect(monitor.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    for (const svc of SERVICES) expect(one<Workload>('prod', 'Deployment', svc).spec.template.spec.containers[0]).toMatchObject({ ports: [{ name: 'http', containerPort: 8080 }] });
    const dashboard = one<K8sObject & { data: Record<string, string> }>('prod', 'ConfigMap', 'starminer-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    expect((JSON.parse(dashboard.data['starminer.json']) as { panels: unknown[] }).panels.length).toBeGreaterThan(0);
  });
});

describe('the contracts Job', () => {
  it('may get and patch only starminer-market, and holds the admin key', () => {
    const role = one<K8sObject & { rules: { resources: string[]; verbs: string[]; resourceNames?: string[] }[] }>('prod', 'Role', 'deploy-contracts');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['starminer-market'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    ]);
    const job = one<Workload & { spec: { template: { spec: PodSpec & { serviceAccountName: string } } } }>('prod', 'Job', 'deploy-contracts');
    expect(job.spec.template.spec.serviceAccountName).toBe('deploy-contracts');
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'dist/tools/deploy-contracts/main.js']);
    expect(job.spec.template.spec.containers[0].env?.find((e) => e.name === 'ADMIN_PRIVATE_KEY')?.valueFrom?.secretKeyRef?.name).toBe('starminer-admin');
  });

  it("dev: the role addresses are those of the dev keys the services sign with", () => {
    const keys = rendered.dev.find((o) => o.kind === 'Secret' && o.metadata.name.startsWith('starminer-keys-')) as K8sObject & { data: Record<string, string> };
    const address = (k: string) => privateKeyToAccount(Buffer.from(keys.data[k], 'base64').toString('utf8') as `0x${string}`).address;
    const config = configOf('dev');
    expect(config.DEPLOYER_ADDRESS).toBe(address('DEPLOYER_PRIVATE_KEY'));
    expect(config.SETTLEMENT_ADDRESS).toBe(address('SETTLEMENT_PRIVATE_KEY'));
    expect(config.MINTER_ADDRESS).toBe(address('MINTER_PRIVATE_KEY'));
  });
});

describe('the validator', () => {
  it('refuses what the API server would: a wrong type, a missing required field, in core kinds and CRDs, and an unknown kind', () => {
    expect(validate({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } }).join('\n')).toMatch(/selector[\s\S]*replicas must be integer/);
    // the CRDs' published schemas (@kubernetes-models/cloudnative-pg): types and required fields
    expect(validate({ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'x' }, spec: { instances: 'three' } })).toEqual(['Cluster/x: data/spec/instances must be integer']);
    expect(validate({ apiVersion: 'postgresql.cnpg.io/v1', kind: 'ScheduledBackup', metadata: { name: 'x' }, spec: { schedule: '0 0 3 * * *' } })).toEqual([
      expect.stringContaining('must have required property cluster'),
    ]);
    expect(validate({ apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: { name: 'x' }, spec: { data: [{ secretKey: 1 }] } })).not.toEqual([]);
    expect(validate({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'x' }, spec: { groups: [{ name: 'g', rules: [{ alert: 'A', for: '5m' }] }] } })).toEqual([expect.stringContaining('must have required property')]);
    expect(validate({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } })).toEqual([expect.stringContaining('no schema')]);
  });
});
