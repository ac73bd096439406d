import { useId, useMemo, useState, type FormEvent } from 'react';
import type { StarMinerClient } from '@starminer/sdk';
import { createProviderClient, NonceSequence, StarMinerApiError, type EarnedJob, type EarningsPage, type NodeStatus, type ProviderClient } from '@starminer/sdk/provider';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { useDark } from '../theme';
import { gatewayOrigin } from '../api';
import { cumulativeLineOption, palette } from '../charts';
import { Chart } from '../components/Chart';
import { ErrorNote, Facts, Section, StatusBadge, TableWrap, Updated } from '../components/common';
import { agpu, formatAgpuAmount, formatAgpuExact, formatTime, shortHex } from '../format';
import { usePoll } from '../hooks';
import { readChainId, readNodeKey } from '../node-key';
import { cumulativeEarnings, fromZero } from '../series';
import { useSession } from '../session';
import { createStore, useStore } from '../store';

const REFRESH_MS = 4_000;
/** Nodes of the public supply searched for the key's address at most, when no node id is given. */
const NODE_SEARCH_MAX = 5_000;
/** Earnings pages read at most (100 jobs each). */
const EARNINGS_PAGES_MAX = 10;
const DEFAULT_CHAIN_ID = '31337';

interface ProviderSession {
  account: PrivateKeyAccount;
  chainId: number;
  nodeId: string;
  client: ProviderClient;
}

/** The node key lives here, in this page's memory: never in storage, gone on reload. */
const providerStore = createStore<ProviderSession | null>(null);

const newClient = (account: PrivateKeyAccount, chainId: number): ProviderClient => createProviderClient({ baseUrl: gatewayOrigin(), account, chainId, nonces: new NonceSequence() });

/**
 * A signed call, sent again once with a fresh nonce sequence when the gateway refused its nonce:
 * the node's own agent signs with the same key, and the gateway refuses a nonce lower than one it
 * already accepted from it.
 */
async function signed<T>(s: ProviderSession, call: (c: ProviderClient) => Promise<T>): Promise<T> {
  try {
    return await call(s.client);
  } catch (err) {
    if (!(err instanceof StarMinerApiError) || err.code !== 'NONCE_REPLAYED') throw err;
    s.client = newClient(s.account, s.chainId);
    return call(s.client);
  }
}

async function findNodeId(publicClient: StarMinerClient, address: string): Promise<string | undefined> {
  let seen = 0;
  for await (const node of publicClient.nodes({ pageSize: 100 })) {
    if (node.nodeAddress.toLowerCase() === address.toLowerCase()) return node.nodeId;
    if (++seen >= NODE_SEARCH_MAX) break;
  }
  return undefined;
}

async function readEarnings(s: ProviderSession, signal: AbortSignal): Promise<{ first: EarningsPage; jobs: EarnedJob[] }> {
  const first = await signed(s, (c) => c.getEarnings({ nodeId: s.nodeId, limit: 100, signal }));
  const jobs = [...first.jobs];
  let cursor = first.nextCursor;
  for (let i = 1; i < EARNINGS_PAGES_MAX && cursor; i++) {
    const at = cursor;
    const page = await signed(s, (c) => c.getEarnings({ nodeId: s.nodeId, limit: 100, cursor: at, signal }));
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
  }
  return { first, jobs };
}

export function ProviderPage() {
  const session = useStore(providerStore);
  const { publicClient } = useSession();
  const [keyText, setKeyText] = useState('');
  const [chainText, setChainText] = useState(DEFAULT_CHAIN_ID);
  const [nodeIdText, setNodeIdText] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const id = useId();

  const connect = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const key = readNodeKey(keyText);
    if (!key.ok) return setError(new Error(key.reason));
    const chainId = readChainId(chainText);
    if (chainId === undefined) return setError(new Error('the chain id is a positive integer'));
    setBusy(true);
    try {
      const account = privateKeyToAccount(key.key);
      const nodeId = nodeIdText.trim() || (await findNodeId(publicClient, account.address));
      if (!nodeId) throw new Error(`no registered node has the address ${account.address}: give its node ID`);
      const s: ProviderSession = { account, chainId, nodeId, client: newClient(account, chainId) };
      await signed(s, (c) => c.getNodeStatus({ nodeId }));
      providerStore.set(s);
      setKeyText('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Provider</h1>
      <Section id="provider-key" title="Sign in as the node">
        <p>
          Sign in as your node with its key. <strong>The key stays in this page's memory only</strong>: it is never stored nor sent; each request is signed with it here, in the browser, for
          this gateway and chain. Reloading the page forgets it.
        </p>
        <form className="form" onSubmit={(e) => void connect(e)}>
          <div className="grid-2">
            <div className="field">
              <label htmlFor={`${id}-key`}>Node key</label>
              <input id={`${id}-key`} type="password" autoComplete="off" spellCheck={false} value={keyText} onChange={(e) => setKeyText(e.target.value)} aria-describedby={`${id}-key-hint`} />
              <p id={`${id}-key-hint`} className="hint">
                The node's 0x private key (64 hex digits).
              </p>
            </div>
            <div className="field">
              <label htmlFor={`${id}-chain`}>Chain ID</label>
              <input id={`${id}-chain`} type="text" inputMode="numeric" value={chainText} onChange={(e) => setChainText(e.target.value)} aria-describedby={`${id}-chain-hint`} />
              <p id={`${id}-chain-hint`} className="hint">
                The market's chain: signatures are bound to it (31337 on a local stack).
              </p>
            </div>
            <div className="field">
              <label htmlFor={`${id}-node`}>Node ID (optional)</label>
              <input id={`${id}-node`} type="text" autoComplete="off" value={nodeIdText} onChange={(e) => setNodeIdText(e.target.value)} aria-describedby={`${id}-node-hint`} />
              <p id={`${id}-node-hint`} className="hint">
                Empty: found in the public supply by the key's address.
              </p>
            </div>
          </div>
          <button type="submit" className="primary" disabled={busy || keyText.trim() === ''}>
            Show node
          </button>
          <ErrorNote error={error} context="Could not sign in as the node" />
        </form>
        {session ? (
          <p className="muted small">
            Signed in as node <strong>{session.nodeId}</strong>, address <code>{session.account.address}</code>, chain {session.chainId}.{' '}
            <button type="button" className="small-button" onClick={() => providerStore.set(null)}>
              Forget the node key
            </button>
          </p>
        ) : null}
      </Section>
      {session ? <NodeView session={session} /> : null}
    </>
  );
}

function NodeView({ session }: { session: ProviderSession }) {
  const dark = useDark();
  const key = `${session.account.address}/${session.nodeId}/${session.chainId}`;
  const status = usePoll<NodeStatus>((signal) => signed(session, (c) => c.getNodeStatus({ nodeId: session.nodeId, signal })), REFRESH_MS, key);
  const earnings = usePoll((signal) => readEarnings(session, signal), REFRESH_MS, key);
  const points = useMemo(() => cumulativeEarnings(earnings.data?.jobs ?? []), [earnings.data]);
  const option = useMemo(() => cumulativeLineOption(palette(dark), 'Earned', fromZero(points)), [points, dark]);
  const node = status.data?.node;
  const total = earnings.data?.first.totalEarnedWei;
  return (
    <>
      <div className="split">
        <Section id="provider-node" title="Node">
          <ErrorNote error={status.error} context="The node could not be read" />
          {node ? (
            <Facts
              items={[
                ['Status', node.online ? 'online' : 'offline'],
                ['Node', node.nodeId],
                ['Provider', node.providerId],
                ['Hardware', `${node.gpuCount} × ${node.gpuModel}, ${node.vramGiB} GiB VRAM${node.tee ? ', TEE' : ''}`],
                ['Region', `${node.region} (${node.latencyMs} ms)`],
                ['Reputation', node.reputation.toFixed(3)],
                ['Stake', <span title={`${formatAgpuExact(node.stakeWei)} AGPU`}>{agpu(node.stakeWei)}</span>],
                ['Pool', node.poolId ?? 'none'],
                ['Benchmark score', node.benchmarkScore.toLocaleString('en-US')],
                ['Active jobs', String(node.activeJobs)],
              ]}
            />
          ) : null}
          {status.data ? (
            <>
              <h3>Jobs by status</h3>
              <ul className="counts">
                {Object.entries(status.data.jobs).map(([s, n]) => (
                  <li key={s}>
                    <StatusBadge status={s} /> {n}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <Updated at={status.at} />
        </Section>
        <Section id="provider-earnings-section" title="Earnings">
          <ErrorNote error={earnings.error} context="Earnings could not be read" />
          <p className="big">
            Earned in all:{' '}
            {total !== undefined ? (
              <strong data-testid="provider-earnings" title={`${formatAgpuExact(total)} AGPU`}>
                {formatAgpuAmount(total, 18)} AGPU
              </strong>
            ) : (
              <span className="muted">loading…</span>
            )}
          </p>
          {earnings.data ? (
            <Facts
              items={[
                ['Settled jobs', String(earnings.data.first.settledJobs)],
                ['Refunded jobs', String(earnings.data.first.refundedJobs)],
                ['Failed jobs', String(earnings.data.first.failedJobs)],
              ]}
            />
          ) : null}
          <Updated at={earnings.at} />
        </Section>
      </div>
      <Section id="provider-earnings-chart" title="Earnings over time">
        {points.length > 0 ? (
          <>
            <Chart label={`Cumulative earnings of node ${session.nodeId} over time: ${points.length} settled job(s), ${agpu(points[points.length - 1].totalWei)}. The same numbers are in the table.`} option={option} height={240} />
            <TableWrap label="Earnings, job by job">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Settled</th>
                    <th scope="col">Job</th>
                    <th scope="col">Cost</th>
                    <th scope="col">Paid</th>
                    <th scope="col">Cumulative</th>
                    <th scope="col">Settle transaction</th>
                  </tr>
                </thead>
                <tbody>
                  {points.map((pt) => {
                    const job = earnings.data?.jobs.find((j) => j.jobId === pt.jobId);
                    return (
                      <tr key={pt.jobId}>
                        <td>{formatTime(pt.at)}</td>
                        <td>
                          <code>{pt.jobId}</code>
                        </td>
                        <td>{job ? agpu(job.costWei) : '—'}</td>
                        <td>{agpu(pt.amountWei)}</td>
                        <td>{agpu(pt.totalWei)}</td>
                        <td>{job?.settleTxHash ? <code title={job.settleTxHash}>{shortHex(job.settleTxHash)}</code> : '—'}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableWrap>
          </>
        ) : (
          <p className="muted">No settled job yet.</p>
        )}
      </Section>
    </>
  );
}
