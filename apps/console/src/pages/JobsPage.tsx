import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Job } from '@starminer/sdk';
import { useDark } from '../theme';
import { cumulativeLineOption, palette } from '../charts';
import { Chart } from '../components/Chart';
import { ErrorNote, Facts, Link, Section, StatusBadge, TableWrap, Updated } from '../components/common';
import { agpu, formatAgpuExact, formatTime, humanize, isFinalStatus } from '../format';
import { cumulativeSpend, fromZero } from '../series';
import { useSession } from '../session';

const PAGE_SIZE = 20;
const REFRESH_MS = 4_000;
/** Jobs past the first page re-read per refresh at most (those not final). */
const REFRESH_OTHERS_MAX = 20;

export function JobsPage() {
  const { client, account } = useSession();
  const [jobs, setJobs] = useState<Map<string, Job>>(new Map());
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [at, setAt] = useState<number | undefined>();
  const jobsRef = useRef(jobs);
  jobsRef.current = jobs;

  const merge = useCallback((list: Job[]) => {
    setJobs((prev) => {
      const next = new Map(prev);
      for (const j of list) next.set(j.jobId, j);
      return next;
    });
  }, []);

  // the first page now and every few seconds, with the unfinished jobs of later pages
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    const read = async (): Promise<void> => {
      try {
        const page = await client.listJobs({ limit: PAGE_SIZE, signal: controller.signal });
        merge(page.jobs);
        if (first) setCursor(page.nextCursor);
        first = false;
        const onPage = new Set(page.jobs.map((j) => j.jobId));
        const others = [...jobsRef.current.values()].filter((j) => !onPage.has(j.jobId) && !isFinalStatus(j.status)).slice(0, REFRESH_OTHERS_MAX);
        merge(await Promise.all(others.map((j) => client.getJob({ jobId: j.jobId, signal: controller.signal }))));
        setError(undefined);
        setAt(Date.now());
      } catch (err) {
        if (controller.signal.aborted) return;
        setError(err);
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void read(), REFRESH_MS);
    };
    void read();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [client, merge]);

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await client.listJobs({ limit: PAGE_SIZE, cursor });
      merge(page.jobs);
      setCursor(page.nextCursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const sorted = useMemo(() => [...jobs.values()].sort((a, b) => Date.parse(b.submittedAt) - Date.parse(a.submittedAt) || b.jobId.localeCompare(a.jobId)), [jobs]);
  return (
    <>
      <h1>Jobs</h1>
      <ErrorNote error={error} context="Jobs could not be read" />
      <Section id="jobs-list" title="Your jobs">
        {sorted.length === 0 && at ? (
          <p>
            No jobs yet. <Link to={{ name: 'new-job' }}>Quote and submit one</Link>.
          </p>
        ) : null}
        {sorted.length > 0 ? (
          <TableWrap label="Your jobs">
            <table>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Status</th>
                  <th scope="col">Category</th>
                  <th scope="col">Submitted</th>
                  <th scope="col">Budget</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((j) => (
                  <tr key={j.jobId}>
                    <td>
                      <Link to={{ name: 'job', jobId: j.jobId }}>
                        <code>{j.jobId}</code>
                      </Link>
                    </td>
                    <td>
                      <StatusBadge status={j.status} />
                    </td>
                    <td>{humanize(j.category)}</td>
                    <td>{formatTime(j.submittedAt)}</td>
                    <td>{agpu(j.budgetWei)}</td>
                    <td>{j.costWei ? agpu(j.costWei) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ) : null}
        {cursor ? (
          <button type="button" onClick={() => void more()} disabled={loadingMore}>
            More
          </button>
        ) : null}
        <Updated at={at} />
      </Section>
      <Spend jobs={sorted} balanceWei={account?.balanceWei} />
    </>
  );
}

function Spend({ jobs, balanceWei }: { jobs: Job[]; balanceWei: string | undefined }) {
  const dark = useDark();
  const points = useMemo(() => cumulativeSpend(jobs), [jobs]);
  const total = points.length ? points[points.length - 1].totalWei : '0';
  const option = useMemo(() => cumulativeLineOption(palette(dark), 'Spent', fromZero(points)), [points, dark]);
  return (
    <Section id="jobs-spend" title="Balance and spend">
      <Facts
        items={[
          ['Balance', balanceWei ? agpu(balanceWei) : '—'],
          ['Spent on settled jobs (loaded)', <span title={`${formatAgpuExact(total)} AGPU`}>{agpu(total)}</span>],
          ['Settled jobs', String(points.length)],
        ]}
      />
      {points.length > 0 ? (
        <>
          <Chart label={`Cumulative cost of settled jobs over time: ${points.length} job(s), ${agpu(total)} in all. The same numbers are in the table below.`} option={option} height={220} />
          <details>
            <summary>Spend, job by job</summary>
            <TableWrap label="Spend, job by job">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Settled</th>
                    <th scope="col">Job</th>
                    <th scope="col">Cost</th>
                    <th scope="col">Cumulative</th>
                  </tr>
                </thead>
                <tbody>
                  {points.map((pt) => (
                    <tr key={pt.jobId}>
                      <td>{formatTime(pt.at)}</td>
                      <td>
                        <code>{pt.jobId}</code>
                      </td>
                      <td>{agpu(pt.amountWei)}</td>
                      <td>{agpu(pt.totalWei)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          </details>
        </>
      ) : (
        <p className="muted">No settled job yet: the chart of spend over time starts with the first.</p>
      )}
    </Section>
  );
}
