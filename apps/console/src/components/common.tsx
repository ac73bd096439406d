import type { ReactNode } from 'react';
import { describeError } from '../api';
import { humanize, statusTone } from '../format';
import { surgeBadge } from '../surge';
import { hrefOf, isPlainLeftClick, type Route } from '../router';
import { navigate } from '../navigation';

/** An API error as its code and message (role=alert: read out when it appears). */
export function ErrorNote({ error, context }: { error: unknown; context?: string }) {
  if (error === undefined || error === null) return null;
  const { code, message } = describeError(error);
  return (
    <p className="error" role="alert">
      {context ? `${context}: ` : ''}
      <code>{code}</code> {message}
    </p>
  );
}

/** A job status as a badge: its word (exactly the status) and a colour that is never the only sign. */
export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge tone-${statusTone(status)}`} data-testid={testId}>
      {status}
    </span>
  );
}

/** A market's surge: the word "surge" as a badge and since when (colour never the only sign); a dash when the market is not in surge. */
export function SurgeNote({ surge, testId }: { surge: Parameters<typeof surgeBadge>[0]; testId?: string }) {
  const badge = surgeBadge(surge);
  if (!badge) return <span className="muted">—</span>;
  return (
    <span title={badge.label} data-testid={testId}>
      <span className="badge tone-waiting">{badge.text}</span> <span className="small">since {badge.since}</span>
    </span>
  );
}

/** A titled section, a landmark region named by its heading. */
export function Section({ id, title, children, level = 2, actions }: { id: string; title: string; children: ReactNode; level?: 2 | 3; actions?: ReactNode }) {
  const Heading = level === 2 ? 'h2' : 'h3';
  return (
    <section aria-labelledby={`${id}-title`} className="card">
      <div className="card-head">
        <Heading id={`${id}-title`}>{title}</Heading>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A table that scrolls sideways on a narrow screen, reachable with the keyboard when it does. */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="group" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A link inside the console: the router handles a plain click, the browser any other. */
export function Link({ to, children, className, ariaCurrent }: { to: Route; children: ReactNode; className?: string; ariaCurrent?: boolean }) {
  const href = hrefOf(to);
  return (
    <a
      href={href}
      className={className}
      aria-current={ariaCurrent ? 'page' : undefined}
      onClick={(e) => {
        if (!isPlainLeftClick(e)) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

/** A figure with a label, as a term and its description. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export const Humanized = ({ code }: { code: string }) => <>{humanize(code)}</>;

/** When the figures on a page were last read. */
export function Updated({ at }: { at: number | undefined }) {
  if (!at) return null;
  return <p className="muted small">Updated {new Date(at).toISOString().slice(11, 19)} UTC</p>;
}
