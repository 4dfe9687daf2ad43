// Connected Amazon logins: health, token and consent expiry with live
// countdowns, last refresh and error, re-authorize, sync (at most once a
// minute: the 429's Retry-After counts down) with what the last sync could
// not list and how far it got, disconnect (saying what is destroyed, and
// where to remove the app at Amazon), and the audit trail with who made
// each change. What the member's role in the active organization does not
// allow is disabled, saying so.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { ApiFailure, unwrap, type Connection } from "../api/client";
import { useApi, useDenied, useSettings } from "../api/context";
import { useAuth } from "../auth/auth";
import { Badge, Countdown, DeniedNote, ErrorNotice, Section, Skeleton, When } from "../components/ui";
import { healthBadge, warningText } from "../lib/health";
import { syncWarningText } from "../lib/syncWarnings";
import { secondsLeft } from "../lib/time";
import { useNow } from "../lib/useNow";
import { actorLabel } from "../lib/workspace";
import { returnUrl } from "./Connect";

const APP_REMOVAL_URL = "https://www.amazon.com/ap/adam";

function Events({ id }: { id: string }) {
  const api = useApi();
  const auth = useAuth();
  const me = auth.state.status === "signedIn" ? auth.state.userId : null;
  const events = useInfiniteQuery({
    queryKey: ["connections", id, "events"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/connections/{id}/events", {
          params: { path: { id }, query: { limit: 10, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  if (events.isPending) return <Skeleton label="the audit trail" />;
  if (events.isError) return <ErrorNotice error={events.error} onRetry={() => void events.refetch()} />;
  const all = events.data.pages.flatMap((p) => p.events);
  return (
    <>
      <table>
        <caption className="sr-only">Audit trail</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Who</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {all.map((e) => (
            <tr key={e.event_id}>
              <td>
                <When at={e.at} />
              </td>
              <td>{e.kind.replace(/_/g, " ")}</td>
              <td className="actor" data-testid="event-actor">{actorLabel(e.actor, me)}</td>
              <td>{e.detail ? <code>{e.detail}</code> : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.hasNextPage ? (
        <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          Older events
        </button>
      ) : null}
    </>
  );
}

type Disconnected = { destroyed: string[]; retained: string[]; amazon_app_removal_url: string };

function ConnectionCard({
  connection,
  onDisconnected,
}: {
  connection: Connection;
  onDisconnected: (answer: Disconnected) => void;
}) {
  const api = useApi();
  const settings = useSettings();
  const queryClient = useQueryClient();
  const now = useNow();
  const [syncBlockedUntil, setSyncBlockedUntil] = useState<number | null>(null);
  const [confirming, setConfirming] = useState(false);
  const noConnect = useDenied("connect");
  const noManage = useDenied("manage");
  const id = connection.id;
  const refreshAll = () => void queryClient.invalidateQueries();

  const sync = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/connections/{id}/sync", { params: { path: { id } } })),
    onSuccess: refreshAll,
    onError: (error) => {
      if (error instanceof ApiFailure && error.retryAfter !== null) {
        setSyncBlockedUntil(Date.now() + error.retryAfter * 1000);
      }
    },
  });
  const reauthorize = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/connections/{id}/reauthorize", {
          params: { path: { id } },
          body: { region: connection.region, return_to: returnUrl() },
        }),
      ),
    onSuccess: (started) => window.location.assign(started.authorization_url),
  });
  const disconnect = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/connections/{id}", { params: { path: { id } } })),
    onSuccess: (answer) => {
      onDisconnected(answer);
      refreshAll();
    },
  });

  const wait = syncBlockedUntil !== null ? secondsLeft(syncBlockedUntil, now) : 0;
  const badge = healthBadge(connection.health);
  const failure = sync.error ?? reauthorize.error ?? disconnect.error;
  return (
    <article className="card connection" aria-label={`Connection ${connection.amazon_name ?? id}`}>
      <header className="row">
        <h2>{connection.amazon_name ?? "Amazon login"}</h2>
        <Badge badge={badge} />
      </header>
      <p className="muted">
        {connection.amazon_email ?? "no email shared"} · consent region {connection.region.toUpperCase()} ·{" "}
        {connection.account_count} accounts · {connection.status} · <code data-testid="connection-id">{id}</code>
      </p>
      {connection.warnings.length > 0 ? (
        <ul className="warnings">
          {connection.warnings.map((w) => (
            <li key={w}>{warningText(w)}</li>
          ))}
        </ul>
      ) : null}
      <dl className="facts">
        <dt>Access token</dt>
        <dd>
          expires <Countdown to={connection.access_expires_at} />
        </dd>
        <dt>Consent</dt>
        <dd>
          ends <Countdown to={connection.consent_expires_at} /> (<When at={connection.consent_expires_at} />)
        </dd>
        <dt>Last refresh</dt>
        <dd>
          <When at={connection.last_refresh_at} /> ({connection.refresh_count} in all)
        </dd>
        <dt>Last error</dt>
        <dd>{connection.last_error_code ? <code>{connection.last_error_code}</code> : "none"}</dd>
        <dt>Last sync</dt>
        <dd>
          <When at={connection.last_synced_at} />
          {connection.sync_warnings.length > 0 ? (
            <>
              {" "}— incomplete:
              <ul className="warnings" aria-label="Sync warnings">
                {connection.sync_warnings.map((w) => (
                  <li key={`${w.source}-${w.reason}`}>{syncWarningText(w)}</li>
                ))}
              </ul>
            </>
          ) : null}
        </dd>
      </dl>
      <div className="actions">
        <button
          type="button"
          onClick={() => reauthorize.mutate()}
          disabled={reauthorize.isPending || noConnect !== null}
          aria-describedby={noConnect ? `no-connect-${id}` : undefined}
        >
          Re-authorize
        </button>
        <button
          type="button"
          onClick={() => sync.mutate()}
          disabled={sync.isPending || wait > 0 || noManage !== null}
          aria-describedby={noManage ? `no-manage-${id}` : undefined}
        >
          {sync.isPending ? "Syncing…" : wait > 0 ? `Sync again in ${wait} s` : "Sync now"}
        </button>
        <button
          type="button"
          className="danger"
          onClick={() => setConfirming(true)}
          disabled={noManage !== null}
          aria-describedby={noManage ? `no-manage-${id}` : undefined}
        >
          Disconnect
        </button>
        <DeniedNote id={`no-connect-${id}`} reason={noConnect} />
        <DeniedNote id={`no-manage-${id}`} reason={noManage} />
      </div>
      {failure && !(failure instanceof ApiFailure && failure.status === 429) ? <ErrorNotice error={failure} /> : null}
      {confirming ? (
        <div className="confirm" role="alertdialog" aria-labelledby={`confirm-${id}`} aria-describedby={`confirm-text-${id}`}>
          <h3 id={`confirm-${id}`}>Disconnect this Amazon login?</h3>
          <div id={`confirm-text-${id}`}>
            <p>
              Destroyed at once: the stored access and refresh tokens and this connection's {connection.account_count}{" "}
              accounts. The audit trail (times and error codes, no tokens) is kept for 90 days.
            </p>
            <p>
              Amazon keeps the grant until you remove AdsConnect at{" "}
              <a href={APP_REMOVAL_URL} target="_blank" rel="noreferrer">
                Amazon's "Login with Amazon" page
              </a>
              .
            </p>
          </div>
          <button
            type="button"
            className="danger"
            onClick={() => {
              setConfirming(false);
              disconnect.mutate();
            }}
          >
            Disconnect and destroy tokens
          </button>
          <button type="button" onClick={() => setConfirming(false)} autoFocus>
            Keep it
          </button>
        </div>
      ) : null}
      <details open={settings.auto_expand_details}>
        <summary>Audit trail</summary>
        <Events id={id} />
      </details>
    </article>
  );
}

export function Connections() {
  const api = useApi();
  const [disconnected, setDisconnected] = useState<Disconnected | null>(null);
  const list = useQuery({
    queryKey: ["connections"],
    queryFn: () => unwrap(api.GET("/api/v1/connections")),
  });
  return (
    <>
      <h1>Connections</h1>
      {disconnected ? (
        <div className="notice notice-good" role="status">
          <p>Disconnected. Destroyed: {disconnected.destroyed.join("; ")}.</p>
          <p>Kept: {disconnected.retained.join("; ")}.</p>
          <p>
            To end Amazon's grant too, remove AdsConnect at{" "}
            <a href={disconnected.amazon_app_removal_url} target="_blank" rel="noreferrer">
              {disconnected.amazon_app_removal_url}
            </a>
            .
          </p>
        </div>
      ) : null}
      {list.isPending ? <Skeleton label="your connections" rows={4} /> : null}
      {list.isError ? <ErrorNotice error={list.error} onRetry={() => void list.refetch()} /> : null}
      {list.data && list.data.connections.length === 0 ? (
        <Section title="No connections">
          <p>
            <Link to="/connect">Connect an Amazon login</Link> to see its accounts here.
          </p>
        </Section>
      ) : null}
      <div className="cards">
        {list.data?.connections.map((c) => (
          <ConnectionCard key={c.id} connection={c} onDisconnected={setDisconnected} />
        ))}
      </div>
    </>
  );
}
