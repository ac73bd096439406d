import { useId, useState, type FormEvent } from 'react';
import type { JobProofs } from '@starminer/sdk';
import { ErrorNote, Link, Section, TableWrap, Updated } from '../components/common';
import { formatTime, shortHex } from '../format';
import { usePoll } from '../hooks';
import { verifyProvenEvent, type EventVerdict } from '../proofs';
import { useSession } from '../session';

const REFRESH_MS = 10_000;
const ANCHORS_SHOWN = 50;

export function AuditorPage() {
  const { publicClient } = useSession();
  const anchors = usePoll((signal) => publicClient.listAnchors({ limit: ANCHORS_SHOWN, signal }), REFRESH_MS, 'anchors');
  const list = anchors.data?.anchors ?? [];
  return (
    <>
      <h1>Auditor</h1>
      <p>
        Every trade is on one append-only log, anchored on chain in Merkle roots. Here: the anchors and whether the chain holds each, an event's inclusion proof checked in your browser, and how to
        produce the audit reports.
      </p>
      <Section id="auditor-anchors" title="Anchors on chain">
        <ErrorNote error={anchors.error} context="Anchors could not be read" />
        {list.length === 0 && anchors.data ? <p>No anchor posted yet.</p> : null}
        {list.length > 0 ? (
          <TableWrap label="Anchors of the trade log">
            <table>
              <caption>The newest {list.length} anchor(s): the log's range, its root, and what the anchor contract holds</caption>
              <thead>
                <tr>
                  <th scope="col">Index</th>
                  <th scope="col">Log sequences</th>
                  <th scope="col">Root</th>
                  <th scope="col">Transaction</th>
                  <th scope="col">Block</th>
                  <th scope="col">Posted</th>
                  <th scope="col">On chain</th>
                </tr>
              </thead>
              <tbody>
                {list.map((a) => (
                  <tr key={`${a.index ?? ''}/${a.fromSeq}`}>
                    <td>{a.index ?? '—'}</td>
                    <td>
                      {a.fromSeq}–{a.toSeq}
                    </td>
                    <td>
                      <code title={a.root}>{shortHex(a.root)}</code>
                    </td>
                    <td>{a.txHash ? <code title={a.txHash}>{shortHex(a.txHash)}</code> : '—'}</td>
                    <td>{a.blockNumber ?? '—'}</td>
                    <td>{formatTime(a.postedAt)}</td>
                    <td>
                      <span className={`badge tone-${a.onChain === 'verified' ? 'good' : 'bad'}`}>{a.onChain}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ) : null}
        <Updated at={anchors.at} />
      </Section>
      <InclusionProof />
      <Section id="auditor-reports" title="Reports">
        <p>
          The full audit runs outside the browser, with read access to the log (NATS) and the chain. It is read-only: it never appends to the log and never sends a transaction (see{' '}
          <code>docs/AUDIT.md</code>).
        </p>
        <div className="code" role="group" aria-label="Audit commands" tabIndex={0}>
          <pre>
          {`export NATS_URL=nats://127.0.0.1:4222 RPC_URL=http://127.0.0.1:8545 CHAIN_ID=31337 \\
       MARKET_ADDRESSES=@.data/chain/addresses.json
npm run audit -- replay     # every read model rebuilt from the log, compared with the live services
npm run audit -- matching   # the matching engine re-run: every JobMatched is what it gives
npm run audit -- chain      # every escrow and token movement on chain explained by the log
npm run audit -- anchors    # every anchored root equals the root of its events
npm run audit -- prove <event-id> --out proof.json   # an inclusion proof anyone can check
npm run audit -- report --from 2026-11-01 --to 2026-11-30 --out ./audit-report`}
          </pre>
        </div>
        <p>
          <code>report</code> writes, per provider (jobs, GPU-hours, AGPU earned, success rate, runtime against expected, disputes, slashes, reputation over time) and per requester org (spend by
          category and GPU class), <code>providers</code>, <code>orgs</code> and <code>reputation</code> as CSV and Parquet, and <code>report.html</code>, one page with its charts. Each command ends
          with one JSON line (<code>{'{"audit":"<command>","ok":true|false,...}'}</code>); exit code 0 when every check passed, 1 when one failed.
        </p>
      </Section>
    </>
  );
}

function InclusionProof() {
  const { client, apiKey } = useSession();
  const [jobId, setJobId] = useState('');
  const [proofs, setProofs] = useState<JobProofs | undefined>();
  const [error, setError] = useState<unknown>();
  const [verdicts, setVerdicts] = useState<Record<number, EventVerdict>>({});
  const [busy, setBusy] = useState(false);
  const id = useId();
  const load = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setProofs(undefined);
    setVerdicts({});
    try {
      setProofs(await client.getJobProofs({ jobId: jobId.trim() }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const verify = (seq: number) => {
    const e = proofs?.events.find((x) => x.seq === seq);
    if (!e || !proofs) return;
    setVerdicts((v) => ({ ...v, [seq]: verifyProvenEvent(e, proofs.leafEncoding) }));
  };
  const verifyAll = () => {
    if (!proofs) return;
    setVerdicts(Object.fromEntries(proofs.events.map((e) => [e.seq, verifyProvenEvent(e, proofs.leafEncoding)])));
  };
  return (
    <Section id="auditor-proof" title="Inclusion proof of a job's events">
      <p>
        Each event's hash is keccak256 of the message as the log stores it; its leaf <code>(seq, eventHash)</code> and the proof must rebuild the anchor's root. Verify computes both here, in the
        browser.
      </p>
      {!apiKey ? (
        <p>
          Reading a job's proofs needs the API key of the org that owns it: <Link to={{ name: 'home' }}>sign in</Link> first.
        </p>
      ) : (
        <form className="form inline" onSubmit={(e) => void load(e)}>
          <div className="field">
            <label htmlFor={`${id}-job`}>Job ID</label>
            <input id={`${id}-job`} type="text" autoComplete="off" spellCheck={false} value={jobId} onChange={(e) => setJobId(e.target.value)} />
          </div>
          <button type="submit" disabled={busy || jobId.trim() === ''}>
            Get proofs
          </button>
        </form>
      )}
      <ErrorNote error={error} context="Proofs could not be read" />
      {proofs ? (
        <>
          <p>
            {proofs.events.length} event(s) of job <code>{proofs.jobId}</code>, chain {proofs.chainId}, anchor contract {proofs.anchorContract ? <code>{proofs.anchorContract}</code> : 'none'},
            anchored through seq {proofs.anchoredThroughSeq}.{' '}
            <button type="button" onClick={verifyAll} disabled={proofs.events.length === 0}>
              Verify all
            </button>
          </p>
          <ol className="proofs">
            {proofs.events.map((e) => {
              const v = verdicts[e.seq];
              return (
                <li key={e.seq}>
                  <strong>#{e.seq}</strong> {e.envelope.type} · hash <code title={e.eventHash}>{shortHex(e.eventHash)}</code> ·{' '}
                  {e.anchor ? `anchor ${e.anchor.index} (seq ${e.anchor.fromSeq}–${e.anchor.toSeq}), ${e.proof?.length ?? 0} proof step(s)` : 'not anchored yet'}{' '}
                  <button type="button" className="small-button" onClick={() => verify(e.seq)} aria-label={`Verify event ${e.seq}`}>
                    Verify
                  </button>{' '}
                  <span aria-live="polite">{v ? <Verdict v={v} /> : null}</span>
                </li>
              );
            })}
          </ol>
        </>
      ) : null}
    </Section>
  );
}

function Verdict({ v }: { v: EventVerdict }) {
  switch (v.state) {
    case 'verified':
      return <span className="badge tone-good">proof valid: in root {shortHex(v.root)}</span>;
    case 'not-anchored':
      return <span className="badge tone-waiting">{v.eventHashMatches ? 'hash matches; not anchored yet' : 'hash does not match the message'}</span>;
    case 'failed':
      return <span className="badge tone-bad">invalid: {v.reason}</span>;
  }
}
