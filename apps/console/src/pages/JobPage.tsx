import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Job, JobProofs, JobUpdate, MatchReceipt } from '@starminer/sdk';
import { useDark } from '../theme';
import { isAbort } from '../api';
import { axisName, axisStyle, baseOption, palette } from '../charts';
import { Chart } from '../components/Chart';
import { ErrorNote, Facts, Link, Section, StatusBadge, TableWrap } from '../components/common';
import { agpu, formatAgpuExact, formatDurationSec, formatScore, formatTime, humanize, isFinalStatus, pricePerGpuHour, shortHex } from '../format';
import { lastStreamSeq, laterStatus, mergeUpdates } from '../job-timeline';
import { priceTermRows, receiptTerms } from '../receipt';
import { receiptSurge } from '../surge';
import { useSession } from '../session';

/** While the watch is down: the job read again this often. */
const FALLBACK_POLL_MS = 3_000;
/** After a watch that failed: the next attempt after this long. */
const WATCH_RETRY_MS = 5_000;

export function JobPage({ jobId }: { jobId: string }) {
  const { client, refreshAccount } = useSession();
  const [job, setJob] = useState<Job | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const [updates, setUpdates] = useState<JobUpdate[]>([]);
  const [loadError, setLoadError] = useState<unknown>();
  const [watchError, setWatchError] = useState<unknown>();
  const [cancelError, setCancelError] = useState<unknown>();
  const [cancelling, setCancelling] = useState(false);
  const updatesRef = useRef<JobUpdate[]>([]);

  const readJob = useCallback(
    async (signal?: AbortSignal) => {
      const j = await client.getJob({ jobId, signal });
      setJob(j);
      setStatus((s) => laterStatus(s, j.status));
      return j;
    },
    [client, jobId],
  );

  const addUpdates = useCallback((incoming: JobUpdate[]) => {
    updatesRef.current = mergeUpdates(updatesRef.current, incoming);
    setUpdates(updatesRef.current);
    for (const u of incoming) setStatus((s) => laterStatus(s, u.status));
  }, []);

  // the job, its history, then its updates live (SSE) until it ends; the job read again on each
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    (async () => {
      let current: Job;
      try {
        current = await readJob(signal);
        addUpdates(await client.getJobHistory({ jobId, signal }));
      } catch (err) {
        if (!signal.aborted && !isAbort(err)) setLoadError(err);
        return;
      }
      while (!signal.aborted && !isFinalStatus(current.status)) {
        try {
          setWatchError(undefined);
          for await (const u of client.watchJob({ jobId, signal, lastEventId: lastStreamSeq(updatesRef.current) })) {
            addUpdates([u]);
            current = await readJob(signal);
          }
          current = await readJob(signal);
        } catch (err) {
          if (signal.aborted || isAbort(err)) return;
          setWatchError(err);
          // keep the page current while the stream is away
          try {
            current = await readJob(signal);
          } catch {
            // the next attempt says more
          }
          await sleep(WATCH_RETRY_MS);
        }
      }
      if (!signal.aborted) refreshAccount();
    })();
    // a safety net: a job read every few seconds while it is not final, whatever the stream does
    const poll = async (): Promise<void> => {
      try {
        const j = await readJob(signal);
        if (isFinalStatus(j.status)) return;
      } catch {
        // shown by the stream's error, if it persists
      }
      if (!signal.aborted) pollTimer = setTimeout(() => void poll(), FALLBACK_POLL_MS * 3);
    };
    pollTimer = setTimeout(() => void poll(), FALLBACK_POLL_MS * 3);
    return () => {
      controller.abort();
      if (pollTimer) clearTimeout(pollTimer);
    };
  }, [client, jobId, readJob, addUpdates, refreshAccount]);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await client.cancelJob({ jobId });
      await readJob();
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  };

  const shown = status ?? job?.status;
  return (
    <>
      <p className="crumbs">
        <Link to={{ name: 'jobs' }}>Jobs</Link> / <span>{jobId}</span>
      </p>
      <h1 className="job-title">Job {jobId}</h1>
      <ErrorNote error={loadError} context="The job could not be read" />
      <div className="status-line" aria-live="polite">
        <span>Status: </span>
        {shown ? <StatusBadge status={shown} testId="job-status" /> : <span className="muted">loading…</span>}
        {shown === 'queued' ? (
          <button type="button" className="danger" onClick={() => void cancel()} disabled={cancelling}>
            Cancel
          </button>
        ) : null}
      </div>
      <ErrorNote error={cancelError} context="Not cancelled" />
      {watchError ? <ErrorNote error={watchError} context="Live updates interrupted (retrying)" /> : null}
      {job ? <JobDetails job={job} /> : null}
      <Timeline updates={updates} />
      {job?.receipt ? <Receipt receipt={job.receipt} /> : null}
      <Proofs jobId={jobId} done={shown !== undefined && isFinalStatus(shown)} />
    </>
  );
}

function JobDetails({ job }: { job: Job }) {
  const r = job.requirements;
  return (
    <div className="split">
      <Section id="job-summary" title="Summary">
        <Facts
          items={[
            ['Category', humanize(job.category)],
            ['Urgency', humanize(job.urgency)],
            ['Budget', agpu(job.budgetWei)],
            ['Requirements', `${r.gpuCount || 'engine-chosen'} GPU(s), ${r.gpuModels.length ? r.gpuModels.join(', ') : 'any model'}, ≥${r.minVramGiB} GiB VRAM, ${r.regions.length ? r.regions.join(', ') : 'any region'}`],
            ['Expected runtime', formatDurationSec(job.expectedRuntimeSec)],
            ['Workload', job.workload.kind === 'hash-chain' ? `hash-chain, seed “${job.workload.seed}”, ${job.workload.iterations.toLocaleString('en-US')} iterations` : job.workload.kind],
            ['Submitted', formatTime(job.submittedAt)],
            ['Updated', formatTime(job.updatedAt)],
          ]}
        />
      </Section>
      <Section id="job-result" title="Result and cost">
        <Facts
          items={[
            ['Node', job.nodeId ?? '—'],
            ['GPUs', job.gpuCount === null ? '—' : String(job.gpuCount)],
            ['Price per GPU-hour', job.priceWeiPerGpuHour ? pricePerGpuHour(job.priceWeiPerGpuHour) : '—'],
            ['Cost', job.costWei ? <span title={`${formatAgpuExact(job.costWei)} AGPU`}>{agpu(job.costWei)}</span> : '—'],
            ['Contract', job.contractAddress ? <code title={job.contractAddress}>{shortHex(job.contractAddress)}</code> : '—'],
            ['Open transaction', job.txHashes.open ? <code title={job.txHashes.open}>{shortHex(job.txHashes.open)}</code> : '—'],
            ['Settle transaction', job.txHashes.settle ? <code title={job.txHashes.settle}>{shortHex(job.txHashes.settle)}</code> : '—'],
            ['Deadline', formatTime(job.deadlineAt)],
            ['Result', job.result ? <code className="wrap">{job.result.output}</code> : '—'],
            ['Result hash', job.result ? <code title={job.result.resultHash}>{shortHex(job.result.resultHash)}</code> : '—'],
            ...(job.waitingReason ? ([['Waiting because', job.waitingReason]] as [string, string][]) : []),
            ...(job.failure ? ([['Failure', `${job.failure.code}: ${job.failure.reason}`]] as [string, string][]) : []),
          ]}
        />
      </Section>
    </div>
  );
}

function Timeline({ updates }: { updates: JobUpdate[] }) {
  return (
    <Section id="job-timeline" title="Timeline">
      {updates.length === 0 ? (
        <p className="muted">No updates yet.</p>
      ) : (
        <ol className="timeline">
          {updates.map((u) => (
            <li key={u.eventId}>
              <time dateTime={u.at}>{formatTime(u.at)}</time> <StatusBadge status={u.status} /> <span className="muted">{u.type}</span>
              {u.waitingReason ? <span> · waiting: {u.waitingReason}</span> : null}
              {u.nodeId ? <span> · node {u.nodeId}</span> : null}
              {u.costWei ? <span> · cost {agpu(u.costWei)}</span> : null}
              {u.txHash ? (
                <span>
                  {' '}
                  · tx <code title={u.txHash}>{shortHex(u.txHash)}</code>
                  {u.blockNumber ? ` in block ${u.blockNumber}` : ''}
                </span>
              ) : null}
              {u.failure ? (
                <span>
                  {' '}
                  · {u.failure.code}: {u.failure.reason}
                </span>
              ) : null}
            </li>
          ))}
        </ol>
      )}
    </Section>
  );
}

function Receipt({ receipt }: { receipt: MatchReceipt }) {
  const dark = useDark();
  const breakdown = useMemo(() => receiptTerms(receipt), [receipt]);
  const surge = receiptSurge(receipt);
  const option = useMemo(() => {
    const p = palette(dark);
    const series: Record<string, unknown>[] = [{ name: `Winner ${receipt.winner.nodeId}`, type: 'bar', data: breakdown.rows.map((r) => r.winnerContribution ?? 0) }];
    if (receipt.runnerUp) series.push({ name: `Runner-up ${receipt.runnerUp.nodeId}`, type: 'bar', data: breakdown.rows.map((r) => r.runnerUpContribution ?? 0) });
    return {
      ...baseOption(p),
      xAxis: { type: 'category', data: breakdown.rows.map((r) => r.label), ...axisStyle(p), axisLabel: { color: p.muted, interval: 0, rotate: 30 } },
      yAxis: { type: 'value', ...axisName(p, 'weight × score'), ...axisStyle(p) },
      series,
    };
  }, [breakdown, receipt, dark]);
  const label = `Match receipt: each score term's contribution (weight × factor) for the winner ${receipt.winner.nodeId}${
    receipt.runnerUp ? ` and the runner-up ${receipt.runnerUp.nodeId}` : ''
  }; total ${formatScore(breakdown.winnerTotal)}${receipt.runnerUp ? ` against ${formatScore(breakdown.runnerUpTotal)}` : ''}. The same numbers are in the table.`;
  return (
    <Section id="job-receipt" title="Match receipt">
      <p>
        Matched {formatTime(receipt.matchedAt)} by engine {receipt.engineVersion} ({receipt.strategy}), {receipt.tier} tier: {receipt.candidatesConsidered} node(s) scored in {receipt.marketsEligible} eligible market(s). Winner{' '}
        <strong>{receipt.winner.nodeId}</strong> ({receipt.winner.gpuModel} in {receipt.winner.region}, {receipt.winner.gpuCount} GPU(s)).
        {receipt.rerouted ? ` Its first choice ${receipt.rerouted.fromNodeId} was given to job ${receipt.rerouted.forJobId}.` : ''}
        {receipt.hold ? ` It held node ${receipt.hold.nodeId} since ${formatTime(receipt.hold.heldSinceAt)}.` : ''}
      </p>
      {surge ? (
        <p data-testid="receipt-surge">
          <span className="badge tone-waiting">surge</span> {surge.sentence}
        </p>
      ) : null}
      <div className="split">
        <Chart label={label} option={option} height={300} />
        <TableWrap label="Score terms of the match receipt">
          <table>
            <caption>Score terms: weight × factor (0 to 1) = contribution; the contributions add up to the total compared</caption>
            <thead>
              <tr>
                <th scope="col">Term</th>
                <th scope="col">Weight</th>
                <th scope="col">Winner factor</th>
                <th scope="col">Winner contribution</th>
                {receipt.runnerUp ? <th scope="col">Runner-up factor</th> : null}
                {receipt.runnerUp ? <th scope="col">Runner-up contribution</th> : null}
              </tr>
            </thead>
            <tbody>
              {breakdown.rows.map((r) => (
                <tr key={r.term}>
                  <th scope="row">{r.label}</th>
                  <td>{formatScore(r.weight)}</td>
                  <td>{formatScore(r.winnerScore)}</td>
                  <td>{formatScore(r.winnerContribution)}</td>
                  {receipt.runnerUp ? <td>{formatScore(r.runnerUpScore)}</td> : null}
                  {receipt.runnerUp ? <td>{formatScore(r.runnerUpContribution)}</td> : null}
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td />
                <td />
                <td>{formatScore(breakdown.winnerTotal)}</td>
                {receipt.runnerUp ? <td /> : null}
                {receipt.runnerUp ? <td>{formatScore(breakdown.runnerUpTotal)}</td> : null}
              </tr>
            </tfoot>
          </table>
        </TableWrap>
      </div>
      <h3>Price terms</h3>
      <TableWrap label="Price terms of the match">
        <table className="kv">
          <caption>How the price was made: base × tier × utilization per GPU-hour, × GPUs × runtime</caption>
          <tbody>
            {priceTermRows(receipt.price).map((row) => (
              <tr key={row.label}>
                <th scope="row">{row.label}</th>
                <td title={row.exact ? `${row.exact} AGPU` : undefined}>{row.value}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Budget</th>
              <td>{agpu(receipt.budgetWei)}</td>
            </tr>
            <tr>
              <th scope="row">Reference cost (cheapest eligible market)</th>
              <td>{agpu(receipt.referenceCostWei)}</td>
            </tr>
          </tbody>
        </table>
      </TableWrap>
    </Section>
  );
}

function Proofs({ jobId, done }: { jobId: string; done: boolean }) {
  const { client } = useSession();
  const [proofs, setProofs] = useState<JobProofs | undefined>();
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!open) return;
    const controller = new AbortController();
    client
      .getJobProofs({ jobId, signal: controller.signal })
      .then(setProofs)
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(err);
      });
    return () => controller.abort();
  }, [client, jobId, open, done]);
  return (
    <Section id="job-proofs" title="Proofs">
      <details onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>The job's events on the trade log{proofs ? ` (${proofs.events.length})` : ''}, each with its Merkle proof in an anchor on chain</summary>
        <ErrorNote error={error} context="Proofs could not be read" />
        {proofs ? (
          <>
            <p className="muted small">
              Chain {proofs.chainId}, anchor contract {proofs.anchorContract ? <code>{proofs.anchorContract}</code> : 'none'}, anchored through seq {proofs.anchoredThroughSeq}. Check them on the <Link to={{ name: 'auditor' }}>Auditor</Link> page.
            </p>
            <ol className="proofs">
              {proofs.events.map((e) => (
                <li key={e.seq}>
                  <strong>#{e.seq}</strong> {e.envelope.type} <span className="muted">{formatTime(e.envelope.occurredAt)}</span> · hash <code title={e.eventHash}>{shortHex(e.eventHash)}</code> ·{' '}
                  {e.anchor ? (
                    <>
                      anchor {e.anchor.index} (seq {e.anchor.fromSeq}–{e.anchor.toSeq}), proof of {e.proof?.length ?? 0} step(s)
                    </>
                  ) : (
                    'not anchored yet'
                  )}
                </li>
              ))}
            </ol>
          </>
        ) : open && !error ? (
          <p className="muted">Loading…</p>
        ) : null}
      </details>
    </Section>
  );
}
