import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { eventually } from '@starminer/service-testing';
import { JOB_ID_ATTR, SERVICE_ATTR, startTestTracing, type TracingHandle } from '@starminer/telemetry';
import { jobRequest, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * One trace per job: the whole market in one process, every span collected in memory. A job
 * submitted over HTTP and run by a provider agent to settlement leaves ONE trace whose root is the
 * submit's HTTP span, with spans from gateway, intake, matching, deployer, settlement and the
 * agent, each linked to its parent up to that root.
 */
const AGPU = 10n ** 18n;
const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let market: Market;
let key: string;

async function call(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${market.gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  tracing = startTestTracing(new SimpleSpanProcessor(exporter));
  market = await startMarket();
  const org = await call('POST', '/v1/orgs', OPERATOR_TOKEN, { name: 'Traced' });
  expect(org.status).toBe(201);
  key = org.body.apiKey as string;
  expect((await call('POST', '/v1/dev/faucet', key, { amountWei: (100n * AGPU).toString() })).status).toBe(200);
}, 180_000);

afterAll(async () => {
  await market?.stop();
  await tracing?.shutdown();
});

const service = (s: ReadableSpan) => s.attributes[SERVICE_ATTR];
const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;

it('a job leaves one trace, from the HTTP submit through every service and the agent to settlement, each span with its parent', async () => {
  const agent = await market.startAgent({ name: 'traced-agent', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
  const submitted = await call(
    'POST',
    '/v1/jobs',
    key,
    jobRequest({ budgetWei: (20n * AGPU).toString(), requirements: { gpuModels: ['RTX4090'], regions: ['eu-west'] }, workload: { seed: 'traced', iterations: 1000 } }),
    { 'idempotency-key': 'traced-job' },
  );
  expect(submitted.status).toBe(202);
  const jobId = submitted.body.jobId as string;
  await eventually(async () => (await call('GET', `/v1/jobs/${jobId}`, key)).body.status === 'settled', 120_000, 200);

  const root = exporter.getFinishedSpans().find((s) => s.name === 'POST /v1/jobs' && s.attributes[JOB_ID_ATTR] === jobId)!;
  expect(root).toBeDefined();
  expect(root.parentSpanContext).toBeUndefined(); // the job's trace starts at the submit
  expect(root.attributes).toMatchObject({ [SERVICE_ATTR]: 'gateway', 'http.route': '/v1/jobs', 'http.response.status_code': 202 });
  const traceId = root.spanContext().traceId;
  const inTrace = (): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const find = (pred: (s: ReadableSpan) => boolean) => inTrace().find(pred);
  // the settlement's record is the last step: wait until its append's span has ended
  await eventually(() => find((s) => s.name === `trade-log append trade.contract.${jobId}` && service(s) === 'settlement' && String(s.attributes['starminer.event_types']).includes('ContractReleased')) !== undefined, 30_000, 100);
  await agent.stop();

  const spans = inTrace();
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  // every span of the trace reaches the submit's span through its parents (nothing dangles)
  for (const s of spans) {
    let at: ReadableSpan | undefined = s;
    for (let hops = 0; at && at !== root && hops < 100; hops += 1) at = byId.get(parentId(at) ?? '');
    expect({ span: s.name, service: service(s), reachesRoot: at === root }).toEqual({ span: s.name, service: service(s), reachesRoot: true });
  }
  // every service the job went through has its spans about the job in this trace
  const services = new Set(spans.filter((s) => s.attributes[JOB_ID_ATTR] === jobId).map(service));
  for (const name of ['gateway', 'intake', 'matching', 'deployer', 'settlement', 'provider-agent']) expect(services).toContain(name);

  // the right parents, step by step
  const parentOf = (s: ReadableSpan) => byId.get(parentId(s) ?? '');
  const sendSubmit = find((s) => s.name === 'send cmd.intake.submitJob' && service(s) === 'gateway')!;
  expect(parentId(sendSubmit)).toBe(root.spanContext().spanId);
  const intakeCommand = find((s) => s.name === 'command cmd.intake.submitJob' && service(s) === 'intake')!;
  expect(parentOf(intakeCommand)).toBe(sendSubmit);
  expect(intakeCommand.attributes[JOB_ID_ATTR]).toBe(jobId);
  const submittedAppend = find((s) => s.name === `trade-log append trade.job.${jobId}` && service(s) === 'intake' && String(s.attributes['starminer.event_types']).includes('JobSubmitted'))!;
  expect(inTraceAncestors(submittedAppend, byId)).toContain(intakeCommand);
  // matching's route decision, a child of the JobSubmitted's append, with the node and the price
  const route = find((s) => s.name === 'matching route')!;
  expect(parentOf(route)).toBe(submittedAppend);
  expect(route.attributes).toMatchObject({ [SERVICE_ATTR]: 'matching', [JOB_ID_ATTR]: jobId, 'starminer.node_id': agent.nodeId });
  expect(BigInt(route.attributes['starminer.price_wei_per_hour'] as string)).toBeGreaterThan(0n);
  const matchedAppend = find((s) => parentOf(s) === route && s.name === `trade-log append trade.job.${jobId}`)!;
  expect(matchedAppend.attributes['starminer.event_types']).toBe('JobMatched');
  // the deployer reads the JobMatched (a child of its append) and opens the contract on chain: hash, gas, block
  const open = find((s) => s.name === 'chain openComputeContract' || s.name === 'chain openComputeContractsBatch')!;
  expect(service(open)).toBe('deployer');
  expect(inTraceAncestors(open, byId)).toContain(matchedAppend);
  expect(open.attributes).toMatchObject({ 'chain.tx_hash': expect.stringMatching(/^0x[0-9a-f]{64}$/), 'chain.tx_status': 'success' });
  expect(Number(open.attributes['chain.gas_used'])).toBeGreaterThan(0);
  expect(Number(open.attributes['chain.block_number'])).toBeGreaterThan(0);
  const openedAppend = find((s) => s.name === `trade-log append trade.contract.${jobId}` && service(s) === 'deployer')!;
  expect(inTraceAncestors(openedAppend, byId)).toContain(matchedAppend);
  // the agent's run of the job: a child of the contract's opening, handed over with the assignment
  const run = find((s) => s.name === 'agent run job')!;
  expect(parentOf(run)).toBe(openedAppend);
  expect(run.attributes).toMatchObject({ [SERVICE_ATTR]: 'provider-agent', [JOB_ID_ATTR]: jobId });
  // its calls to the gateway carry the trace: the gateway's HTTP spans are the run's children, and settlement's commands theirs
  const startHttp = find((s) => parentOf(s) === run && s.name === 'POST /v1/providers/nodes/:nodeId/jobs/:jobId/start')!;
  expect(startHttp.attributes).toMatchObject({ [SERVICE_ATTR]: 'gateway', [JOB_ID_ATTR]: jobId });
  const resultHttp = find((s) => parentOf(s) === run && s.name === 'POST /v1/providers/nodes/:nodeId/jobs/:jobId/result')!;
  expect(resultHttp).toBeDefined();
  const settlementCommands = spans.filter((s) => s.name.startsWith('command cmd.settlement.') && service(s) === 'settlement');
  expect(settlementCommands.length).toBeGreaterThanOrEqual(2);
  for (const c of settlementCommands) expect([startHttp, resultHttp]).toContain(inTraceAncestors(c, byId).find((a) => a === startHttp || a === resultHttp));
  // settlement releases on chain in the same trace, with its transaction
  const release = find((s) => s.name === 'chain release')!;
  expect(service(release)).toBe('settlement');
  expect(inTraceAncestors(release, byId)).toContain(resultHttp);
  expect(release.attributes).toMatchObject({ [JOB_ID_ATTR]: jobId, 'chain.tx_hash': expect.stringMatching(/^0x[0-9a-f]{64}$/) });
  expect(Number(release.attributes['chain.gas_used'])).toBeGreaterThan(0);
  // projections and consumers: one span per applied event, each the child of the event's append
  const gatewayViews = spans.filter((s) => service(s) === 'gateway' && s.attributes['starminer.reader'] !== undefined && s.attributes[JOB_ID_ATTR] === jobId);
  expect(gatewayViews.length).toBeGreaterThanOrEqual(5);
  for (const v of gatewayViews) expect(parentOf(v)?.name).toMatch(/^trade-log append /);
}, 240_000);

/** A span's ancestors in its trace, nearest first. */
function inTraceAncestors(s: ReadableSpan, byId: Map<string, ReadableSpan>): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  for (let at = byId.get(parentId(s) ?? ''); at && out.length < 100; at = byId.get(parentId(at) ?? '')) out.push(at);
  return out;
}
