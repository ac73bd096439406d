import { useEffect, useId, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { formatAgpu, type Quote } from '@starminer/sdk';
import { isAbort } from '../api';
import { ErrorNote, Facts, Section, TableWrap } from '../components/common';
import { agpu, formatDurationSec, formatMultiplierBps, formatPercentBps, formatTime, humanize, pricePerGpuHour } from '../format';
import { useDebounced } from '../hooks';
import { applyAlternative, buildJob, CATEGORIES, DEFAULT_JOB_FORM, describeAlternative, jobKey, LATENCY_PREFERENCES, URGENCIES, type JobForm } from '../job-form';
import { navigate } from '../navigation';
import { hrefOf } from '../router';
import { useSession } from '../session';

const QUOTE_DEBOUNCE_MS = 400;

export function NewJobPage() {
  const { client, refreshAccount } = useSession();
  const [form, setForm] = useState<JobForm>(DEFAULT_JOB_FORM);
  const built = useMemo(() => buildJob(form), [form]);
  const key = built.ok ? jobKey(built.job) : '';
  const debouncedKey = useDebounced(key, QUOTE_DEBOUNCE_MS);
  const [quote, setQuote] = useState<{ key: string; quote?: Quote; error?: unknown } | undefined>();
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<unknown>(undefined);
  const id = useId();

  // a live quote of the job as it stands, once the form has been still for a moment
  useEffect(() => {
    if (!debouncedKey || !built.ok || jobKey(built.job) !== debouncedKey) return;
    const controller = new AbortController();
    client
      .createQuote({ job: built.job, signal: controller.signal })
      .then((q) => setQuote({ key: debouncedKey, quote: q }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted && !isAbort(error)) setQuote({ key: debouncedKey, error });
      });
    return () => controller.abort();
    // built follows debouncedKey: the quote is asked again only when the job changed
  }, [debouncedKey, client]);

  const set = <K extends keyof JobForm>(k: K) => (value: JobForm[K]) => setForm((f) => ({ ...f, [k]: value }));
  const errors = built.ok ? {} : built.errors;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!built.ok) return;
    setSubmitting(true);
    setSubmitError(undefined);
    try {
      const accepted = await client.submitJob({ job: built.job });
      refreshAccount();
      navigate(hrefOf({ name: 'job', jobId: accepted.jobId }));
    } catch (err) {
      setSubmitError(err);
      setSubmitting(false);
    }
  };

  const field = (name: keyof JobForm, label: string, input: ReactNode, hint?: string) => (
    <div className="field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      {input}
      {hint ? (
        <p id={`${id}-${name}-hint`} className="hint">
          {hint}
        </p>
      ) : null}
      {errors[name] ? (
        <p id={`${id}-${name}-error`} className="field-error">
          {label}: {errors[name]}
        </p>
      ) : null}
    </div>
  );
  const describedBy = (name: keyof JobForm, hint: boolean) => [hint ? `${id}-${name}-hint` : '', errors[name] ? `${id}-${name}-error` : ''].filter(Boolean).join(' ') || undefined;
  const text = (name: keyof JobForm, label: string, opts: { hint?: string; inputMode?: 'numeric' | 'decimal' | 'text' } = {}) =>
    field(
      name,
      label,
      <input
        id={`${id}-${name}`}
        type="text"
        inputMode={opts.inputMode ?? 'text'}
        autoComplete="off"
        value={form[name]}
        aria-invalid={errors[name] ? true : undefined}
        aria-describedby={describedBy(name, Boolean(opts.hint))}
        onChange={(e) => set(name)(e.target.value as never)}
      />,
      opts.hint,
    );
  const select = <K extends 'category' | 'urgency' | 'latencyPreference'>(name: K, label: string, options: readonly JobForm[K][]) =>
    field(
      name,
      label,
      <select id={`${id}-${name}`} value={form[name]} onChange={(e) => set(name)(e.target.value as JobForm[K])}>
        {options.map((o) => (
          <option key={o} value={o}>
            {humanize(o)}
          </option>
        ))}
      </select>,
    );

  const current = quote && quote.key === key ? quote : undefined;
  return (
    <>
      <h1>New job</h1>
      <div className="split">
        <form className="card form" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-form-title`}>
          <h2 id={`${id}-form-title`}>Job</h2>
          <p className="muted small">
            A <code>hash-chain</code> workload: the node hashes the seed the number of iterations and proves the result.
          </p>
          <div className="grid-2">
            {select('category', 'Category', CATEGORIES)}
            {text('budgetAgpu', 'Budget (AGPU)', { inputMode: 'decimal', hint: 'The most the job may cost.' })}
            {text('gpuCount', 'GPUs', { inputMode: 'numeric', hint: '0 lets the engine choose.' })}
            {text('minVramGiB', 'Min VRAM (GiB)', { inputMode: 'numeric' })}
            {select('urgency', 'Urgency', URGENCIES)}
            {select('latencyPreference', 'Latency preference', LATENCY_PREFERENCES)}
            {text('expectedRuntimeSec', 'Expected runtime (s)', { inputMode: 'numeric' })}
            {text('gpuModels', 'GPU models (optional)', { hint: 'Comma-separated, e.g. H100, A100; empty for any.' })}
            {text('regions', 'Regions (optional)', { hint: 'Comma-separated, e.g. eu-west; empty for any.' })}
            {text('seed', 'Workload seed')}
            {text('iterations', 'Iterations', { inputMode: 'numeric' })}
          </div>
          <button type="submit" className="primary" disabled={!built.ok || submitting}>
            Submit job
          </button>
          <ErrorNote error={submitError} context="Not submitted" />
        </form>
        <Section id={`${id}-quote`} title="Quote">
          <div aria-live="polite">
            {!built.ok ? (
              <p>Complete the form to see a quote.</p>
            ) : !current ? (
              <p className="muted">Asking the market…</p>
            ) : current.error ? (
              <ErrorNote error={current.error} context="No quote" />
            ) : current.quote ? (
              <QuoteView quote={current.quote} onUse={(alt) => setForm((f) => applyAlternative(f, alt, formatAgpu))} />
            ) : null}
          </div>
        </Section>
      </div>
    </>
  );
}

function QuoteView({ quote, onUse }: { quote: Quote; onUse: (alt: Quote['nearest'][number]) => void }) {
  return (
    <>
      {quote.feasible && quote.price ? (
        <Facts
          items={[
            ['Price per GPU-hour', pricePerGpuHour(quote.price.priceWeiPerGpuHour)],
            ['Estimated cost', agpu(quote.price.costWei)],
            ['Market', `${quote.price.gpuModel} in ${quote.price.region}, ${quote.price.tier} tier`],
            ['Expected wait', quote.expectedWaitSec === null ? '—' : `${formatDurationSec(quote.expectedWaitSec)} (${humanize(quote.waitBasis)})`],
            ['Jobs queued ahead', String(quote.queuedAhead)],
          ]}
        />
      ) : (
        <>
          <p>
            <strong>Nothing fits this job now.</strong>
          </p>
          <ul className="reasons">
            {quote.reasons.map((r) => (
              <li key={r.code}>
                <strong>{humanize(r.code)}</strong>: {r.message}
              </li>
            ))}
          </ul>
          {quote.nearest.length > 0 ? (
            <>
              <h3>Nearest options</h3>
              <ul className="options">
                {quote.nearest.map((alt) => (
                  <li key={`${alt.change}:${alt.value}`}>
                    With {describeAlternative(alt, formatAgpu)}: {pricePerGpuHour(alt.price.priceWeiPerGpuHour)}, cost {agpu(alt.price.costWei)} ({alt.price.gpuModel} in {alt.price.region}).{' '}
                    <button type="button" className="small-button" onClick={() => onUse(alt)}>
                      Use {describeAlternative(alt, formatAgpu)}
                    </button>
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p className="muted">No nearby option either.</p>
          )}
        </>
      )}
      {quote.markets.length > 0 ? (
        <>
          <h3>Markets that could run it ({quote.marketsTotal})</h3>
          <TableWrap label="Markets that could run the job">
            <table>
              <thead>
                <tr>
                  <th scope="col">Market</th>
                  <th scope="col">Tier</th>
                  <th scope="col">Price per GPU-hour</th>
                  <th scope="col">Utilization</th>
                  <th scope="col">Nodes free / eligible</th>
                  <th scope="col">Free GPUs</th>
                </tr>
              </thead>
              <tbody>
                {quote.markets.map((m) => (
                  <tr key={`${m.price.gpuModel}/${m.price.region}/${m.price.tier}`}>
                    <td>
                      {m.price.gpuModel} in {m.price.region}
                    </td>
                    <td>{humanize(m.price.tier)}</td>
                    <td>
                      {pricePerGpuHour(m.price.priceWeiPerGpuHour)} <span className="muted small">({formatMultiplierBps(m.price.utilizationMultiplierBps)})</span>
                    </td>
                    <td>{formatPercentBps(m.utilizationBps)}</td>
                    <td>
                      {m.nodesFree} / {m.nodesEligible}
                      {m.countsComplete ? '' : '+'}
                    </td>
                    <td>{m.freeGpus}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      ) : null}
      <p className="muted small">
        Quoted {formatTime(quote.quotedAt)} by engine {quote.engineVersion}. A quote is not a promise: the market moves.
      </p>
    </>
  );
}
