import { useId, useState, type FormEvent } from 'react';
import type { OpsStatus, ServiceStatus } from '@starminer/sdk';
import { isAnswered, type ServiceEntry } from '../api';
import { ErrorNote, Facts, Section, StatusBadge, TableWrap, Updated } from '../components/common';
import { formatTime, humanize, shortHex } from '../format';
import { usePoll } from '../hooks';
import { useSession } from '../session';
import { createStore, useStore } from '../store';

const REFRESH_MS = 4_000;

/** The operator token lives here, in this page's memory: never in storage, gone on reload. */
const tokenStore = createStore<string | null>(null);

export function OperatorPage() {
  const token = useStore(tokenStore);
  const [text, setText] = useState('');
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim() === '') return;
    tokenStore.set(text.trim());
    setText('');
  };
  return (
    <>
      <h1>Operator</h1>
      <Section id="operator-token" title="Operator sign-in">
        <p>The operator token stays in this page's memory only (never stored); reloading the page forgets it.</p>
        <form className="form inline" onSubmit={submit}>
          <div className="field">
            <label htmlFor={`${id}-token`}>Operator token</label>
            <input id={`${id}-token`} type="password" autoComplete="off" spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
          </div>
          <button type="submit" className="primary" disabled={text.trim() === ''}>
            Show status
          </button>
          {token ? (
            <button type="button" onClick={() => tokenStore.set(null)}>
              Forget the token
            </button>
          ) : null}
        </form>
      </Section>
      {token ? <Status token={token} /> : null}
    </>
  );
}

function Status({ token }: { token: string }) {
  const { publicClient } = useSession();
  const status = usePoll((signal) => publicClient.getOpsStatus({ operatorToken: token, signal }), REFRESH_MS, token);
  const s = status.data;
  return (
    <>
      <ErrorNote error={status.error} context="The status could not be read" />
      {s ? (
        <>
          <Section id="operator-overall" title="Overall">
            <p className="big">
              The market is{' '}
              <strong className={`badge tone-${s.overall === 'healthy' ? 'good' : 'bad'}`} data-testid="ops-overall">
                {s.overall}
              </strong>
            </p>
            <p className="muted small">As of {formatTime(s.at)}.</p>
            <Updated at={status.at} />
          </Section>
          <Services status={s} />
          <div className="split">
            <Chain status={s} />
            <Stuck status={s} />
          </div>
        </>
      ) : status.loading ? (
        <p className="muted">Loading…</p>
      ) : null}
    </>
  );
}

function Services({ status }: { status: OpsStatus }) {
  const all: (ServiceStatus | ServiceEntry)[] = [status.gateway, ...status.services];
  const readers = all.filter(isAnswered).flatMap((svc) => svc.readers.map((r) => ({ service: svc.service, ...r })));
  const parked = readers.reduce((n, r) => n + (r.parked ?? 0), 0);
  return (
    <>
      <Section id="operator-services" title="Services">
        <TableWrap label="Readiness per service">
          <table>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Ready</th>
                <th scope="col">Dependencies</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {all.map((svc) => (
                <tr key={svc.service}>
                  <th scope="row">{svc.service}</th>
                  <td>
                    <span className={`badge tone-${svc.ready ? 'good' : 'bad'}`}>{svc.ready ? 'ready' : 'not ready'}</span>
                  </td>
                  <td>
                    {isAnswered(svc) ? (
                      Object.entries(svc.checks)
                        .filter(([, c]) => c !== undefined)
                        .map(([name, c]) => (
                          <span key={name} className="check">
                            {name} {c!.status}
                            {c!.message ? ` (${c!.message})` : ''}
                          </span>
                        ))
                    ) : (
                      <span>
                        no answer: <code>{svc.error.code}</code> {svc.error.message}
                      </span>
                    )}
                  </td>
                  <td>{isAnswered(svc) ? formatTime(svc.startedAt) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Section>
      <Section id="operator-readers" title="Projections and readers">
        <p>
          {readers.length} reader(s) of the trade log; <strong>{parked}</strong> event(s) parked in all; the log's last sequence is {status.log.lastSeq ?? 'unknown'}
          {status.log.error ? ` (${status.log.error})` : ''}.
        </p>
        <TableWrap label="Readers of the trade log: lag and parked events">
          <table>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Reader</th>
                <th scope="col">State</th>
                <th scope="col">Checkpoint</th>
                <th scope="col">Lag (events)</th>
                <th scope="col">Parked</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody>
              {readers.map((r) => (
                <tr key={`${r.service}/${r.name}`}>
                  <td>{r.service}</td>
                  <th scope="row">{r.name}</th>
                  <td>{r.state}</td>
                  <td>{r.checkpointSeq}</td>
                  <td>{r.lagEvents}</td>
                  <td>{r.parked ?? 'unknown'}</td>
                  <td>{[...(r.problems ?? []), ...(r.lastError ? [r.lastError] : [])].join('; ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Section>
    </>
  );
}

function Chain({ status }: { status: OpsStatus }) {
  const c = status.chain;
  return (
    <Section id="operator-chain" title="Chain">
      {c.error ? <p className="error">{c.error}</p> : null}
      <Facts
        items={[
          ['Chain ID', String(c.chainId)],
          ['Block', c.blockNumber === null ? 'no answer' : String(c.blockNumber)],
          ['Anchor contract', c.anchorContract ? <code title={c.anchorContract}>{shortHex(c.anchorContract)}</code> : '—'],
          ['Latest anchor', c.latestAnchor ? `seq ${c.latestAnchor.fromSeq}–${c.latestAnchor.toSeq}, ${c.latestAnchor.onChain}, posted ${formatTime(c.latestAnchor.postedAt)}` : 'none yet'],
          ['Events since the anchor', c.eventsSinceAnchor === null ? 'unknown' : String(c.eventsSinceAnchor)],
        ]}
      />
    </Section>
  );
}

function Stuck({ status }: { status: OpsStatus }) {
  const st = status.stuckJobs;
  return (
    <Section id="operator-stuck" title="Stuck jobs">
      {st.error ? <p className="error">{st.error}</p> : null}
      <p>{st.count === null ? 'The job view could not be read.' : st.count === 0 ? 'No job is stuck.' : `${st.count} job(s) stuck.`}</p>
      {st.jobs.length > 0 ? (
        <TableWrap label="Stuck jobs">
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Why</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {st.jobs.map((j) => (
                <tr key={j.jobId}>
                  <td>
                    <code>{j.jobId}</code>
                  </td>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td>{humanize(j.reason)}</td>
                  <td>{formatTime(j.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </Section>
  );
}
