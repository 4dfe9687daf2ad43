// A DSP advertiser's seats: the last snapshot (saying when its listing
// stopped before Amazon's last page), a refresh (at most once a minute; the
// 429's Retry-After counts down), an exchange filter, and the refresh
// history with Amazon's error codes. A member whose role in the active
// organization does not allow managing sees the refresh disabled, saying why.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";

import { ApiFailure, unwrap } from "../api/client";
import { useApi, useDenied } from "../api/context";
import { DeniedNote, ErrorNotice, Section, Skeleton, When } from "../components/ui";
import { secondsLeft } from "../lib/time";
import { useNow } from "../lib/useNow";

/** Why a snapshot holds only the seats received before its listing stopped. */
function cutShortText(reason: string): string {
  switch (reason) {
    case "page_limit":
      return "Amazon has more: one refresh reads at most 50 pages of seats.";
    case "incomplete":
      return "Amazon has more: time ran out before its last page; refresh again.";
    default:
      return `The listing stopped before Amazon's last page (${reason}).`;
  }
}

export function Seats() {
  const { id = "" } = useParams();
  const api = useApi();
  const queryClient = useQueryClient();
  const now = useNow();
  const [filter, setFilter] = useState("");
  const [blockedUntil, setBlockedUntil] = useState<number | null>(null);
  const denied = useDenied("manage");
  const seats = useQuery({
    queryKey: ["seats", id],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/{id}/seats", { params: { path: { id } } })),
  });
  const history = useInfiniteQuery({
    queryKey: ["seats", id, "history"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/accounts/{id}/seats/history", {
          params: { path: { id }, query: { limit: 10, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const refresh = useMutation({
    mutationFn: (exchangeIds: string[]) =>
      unwrap(
        api.POST("/api/v1/accounts/{id}/seats/refresh", {
          params: { path: { id } },
          body: { exchange_ids: exchangeIds },
        }),
      ),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ["seats", id] }),
    onError: (error) => {
      if (error instanceof ApiFailure && error.retryAfter !== null) {
        setBlockedUntil(Date.now() + error.retryAfter * 1000);
      }
    },
  });
  const wait = blockedUntil !== null ? secondsLeft(blockedUntil, now) : 0;
  if (seats.isPending) return <Skeleton label="seats" rows={5} />;
  if (seats.isError) return <ErrorNotice error={seats.error} onRetry={() => void seats.refetch()} />;
  const snapshot = seats.data;
  return (
    <>
      <p>
        <Link to="/accounts?kind=dsp_advertiser">← DSP accounts</Link>
      </p>
      <h1>DSP seats of advertiser {snapshot.advertiser_id}</h1>
      <form
        className="card row"
        onSubmit={(e) => {
          e.preventDefault();
          const ids = filter
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
          refresh.mutate(ids);
        }}
      >
        <label htmlFor="exchange-filter">Only exchanges (comma-separated ids, optional)</label>
        <input id="exchange-filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button
          type="submit"
          disabled={refresh.isPending || wait > 0 || denied !== null}
          aria-describedby={denied ? "seats-denied" : undefined}
        >
          {refresh.isPending ? "Refreshing…" : wait > 0 ? `Refresh again in ${wait} s` : "Refresh from Amazon"}
        </button>
        <DeniedNote id="seats-denied" reason={denied} />
      </form>
      {refresh.isError && !(refresh.error instanceof ApiFailure && refresh.error.status === 429) ? (
        <ErrorNotice error={refresh.error} />
      ) : null}
      <Section title="Seats">
        <p className="muted" data-testid="seats-taken">
          {snapshot.taken_at ? (
            <>
              Taken <When at={snapshot.taken_at} />: {snapshot.seats.length} seats on {snapshot.exchange_count}{" "}
              exchanges{snapshot.exchange_ids.length ? ` (only ${snapshot.exchange_ids.join(", ")})` : ""}.
              {snapshot.cut_short ? ` ${cutShortText(snapshot.cut_short)}` : null}
            </>
          ) : (
            "Not fetched yet: refresh to read them from Amazon."
          )}
        </p>
        {snapshot.seats.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Exchange</th>
                <th scope="col">Deal creation seat</th>
                <th scope="col">Spend tracking seat</th>
              </tr>
            </thead>
            <tbody>
              {snapshot.seats.map((s) => (
                <tr key={`${s.exchange_id}-${s.deal_creation_id ?? ""}`}>
                  <th scope="row">
                    {s.exchange_name ?? s.exchange_id} <span className="muted small">({s.exchange_id})</span>
                  </th>
                  <td>{s.deal_creation_id ?? "—"}</td>
                  <td>{s.spend_tracking_id ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      <Section title="Refresh history">
        {history.isPending ? <Skeleton label="the refresh history" /> : null}
        {history.isError ? <ErrorNotice error={history.error} /> : null}
        {history.data ? (
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Outcome</th>
                <th scope="col">Seats</th>
                <th scope="col">Exchanges</th>
                <th scope="col">Amazon's error</th>
              </tr>
            </thead>
            <tbody>
              {history.data.pages
                .flatMap((p) => p.refreshes)
                .map((r) => (
                  <tr key={r.refresh_id}>
                    <td>
                      <When at={r.at} />
                    </td>
                    <td>{r.outcome}</td>
                    <td>{r.seat_count}</td>
                    <td>{r.exchange_count}</td>
                    <td>{r.error_code ? <code>{r.error_code}</code> : "—"}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        ) : null}
        {history.hasNextPage ? (
          <button type="button" onClick={() => void history.fetchNextPage()}>
            Older refreshes
          </button>
        ) : null}
      </Section>
    </>
  );
}
