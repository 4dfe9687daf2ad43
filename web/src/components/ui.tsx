// Small shared pieces: badges, skeletons, error notices, live times.
import type { ReactNode } from "react";

import { ApiFailure } from "../api/client";
import { useSettings } from "../api/context";
import type { Badge as BadgeModel } from "../lib/health";
import { countdown, formatDateTime, secondsLeft } from "../lib/time";
import { useNow } from "../lib/useNow";

export function Badge({ badge }: { badge: BadgeModel }) {
  return (
    <span className={`badge badge-${badge.tone}`} title={badge.hint ?? undefined}>
      {badge.label}
    </span>
  );
}

export function Skeleton({ label, rows = 3 }: { label: string; rows?: number }) {
  return (
    <div className="skeleton" role="status" aria-busy="true" aria-label={`Loading ${label}`}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton-row" />
      ))}
    </div>
  );
}

/** A failure as the user can act on it: what happened, when to retry, and
 * the request id to quote to support. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const now = useNow();
  const failure =
    error instanceof ApiFailure ? error : new ApiFailure(0, "UNEXPECTED", String(error));
  const wait =
    failure.retryAfter !== null ? secondsLeft(failure.receivedAt + failure.retryAfter * 1000, now) : 0;
  return (
    <div className="notice notice-error" role="alert">
      <p>
        <strong>{failure.message}</strong>
        {failure.amazonCode ? <> (Amazon: <code>{failure.amazonCode}</code>)</> : null}
      </p>
      <p className="muted">
        {failure.status === 0 ? "No answer from the API." : `HTTP ${failure.status} · ${failure.code}`}
        {failure.requestId ? <> · request id <code>{failure.requestId}</code></> : null}
      </p>
      {onRetry ? (
        <button type="button" onClick={onRetry} disabled={wait > 0}>
          {wait > 0 ? `Try again in ${wait} s` : "Try again"}
        </button>
      ) : wait > 0 ? (
        <p className="muted">Try again in {wait} s.</p>
      ) : null}
    </div>
  );
}

export function When({ at }: { at: string | null | undefined }) {
  const settings = useSettings();
  if (!at) return <span className="muted">never</span>;
  return <time dateTime={at}>{formatDateTime(at, settings)}</time>;
}

export function Countdown({ to }: { to: string }) {
  const now = useNow();
  return <span className="countdown">{countdown(to, now)}</span>;
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="section" aria-labelledby={slug(title)}>
      <div className="section-head">
        <h2 id={slug(title)}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

function slug(title: string): string {
  return `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
}

/** Why the controls that point at `id` (`aria-describedby`) are disabled:
 * what the member's role in the organization does not allow. */
export function DeniedNote({ id, reason }: { id: string; reason: string | null }) {
  if (!reason) return null;
  return (
    <p id={id} className="denied small" data-testid="denied">
      {reason}
    </p>
  );
}
