// Accounts in tabs per kind, with a search (name or id) and a status
// filter, sortable columns, cursor paging (the user's items-per-page), the
// default account, removal, each DSP advertiser's seats, whether Amazon is
// throttling each right now, and which ones the login may only read or
// reaches through Amazon's managed service (making one the default and
// removing one are off, saying why, for a member whose role in the active
// organization does not allow managing). Kind, status, search and sort
// live in the URL, so a reload or a shared link shows the same list.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";

import { unwrap, type Account, type AccountKind, type AccountSort, type AccountStatus } from "../api/client";
import { useApi, useDenied, useSettings } from "../api/context";
import { AccessBadges } from "../components/AccessBadges";
import { AmazonThrottling } from "../components/AmazonThrottling";
import { Badge, DeniedNote, ErrorNotice, Skeleton, When } from "../components/ui";
import { MAX_SEARCH_LENGTH, nativeId, sortOf, sortToggled, type SortField } from "../lib/accounts";
import { healthBadge } from "../lib/health";

const KINDS: { kind: AccountKind; label: string }[] = [
  { kind: "sponsored_ads", label: "Sponsored Ads" },
  { kind: "dsp_advertiser", label: "DSP" },
  { kind: "amc_instance", label: "AMC" },
];
const STATUSES: AccountStatus[] = ["active", "partial", "pending", "disabled"];
/** How long typing pauses before the search is asked for. */
const SEARCH_DELAY_MS = 300;

/** A column header that sorts the list by its field, and says how it is sorted. */
function SortHeader({ field, label, sort, onSort }: { field: SortField; label: string; sort: AccountSort; onSort: (next: AccountSort) => void }) {
  const current = sort === field ? "ascending" : sort === `-${field}` ? "descending" : "none";
  return (
    <th scope="col" aria-sort={current}>
      <button type="button" className="sort" onClick={() => onSort(sortToggled(sort, field))}>
        {label}
        <span aria-hidden="true">{current === "ascending" ? " ▲" : current === "descending" ? " ▼" : " ↕"}</span>
      </button>
    </th>
  );
}

/** The note saying why Make default and Remove are disabled. */
const DENIED_ID = "accounts-denied";

function Row({ account, denied }: { account: Account; denied: string | null }) {
  const api = useApi();
  const settings = useSettings();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const refresh = () => void queryClient.invalidateQueries();
  const id = account.account_id;
  const makeDefault = useMutation({
    mutationFn: () => unwrap(api.PUT("/api/v1/accounts/{id}/default", { params: { path: { id } } })),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/accounts/{id}", { params: { path: { id } } })),
    onSuccess: refresh,
  });
  const failure = makeDefault.error ?? remove.error;
  const describedBy = denied ? DENIED_ID : undefined;
  return (
    <tr>
      <th scope="row">
        <Link to={`/accounts/${id}`}>{account.name}</Link>
        {account.is_default ? <span className="badge badge-good"> Default</span> : null}
        <AccessBadges account={account} />
        <div className="muted small">{nativeId(account)}</div>
        {failure ? <ErrorNotice error={failure} /> : null}
      </th>
      <td>{account.marketplace_name ?? account.marketplace_id ?? "—"}</td>
      <td>{account.region.toUpperCase()}</td>
      <td>
        {account.status}
        {account.source_status ? <div className="muted small">{account.source_status}</div> : null}
      </td>
      <td>
        <Badge badge={healthBadge(account.health)} />
        {/* Only throttled rows run the clock that ends the badge. */}
        {account.throttling.length > 0 ? <AmazonThrottling throttling={account.throttling} prefs={settings} /> : null}
      </td>
      <td>
        <When at={account.last_synced_at} />
      </td>
      <td className="actions">
        {account.kind === "dsp_advertiser" ? <Link to={`/accounts/${id}/seats`}>Seats</Link> : null}
        {!account.is_default ? (
          <button
            type="button"
            onClick={() => makeDefault.mutate()}
            disabled={makeDefault.isPending || denied !== null}
            aria-describedby={describedBy}
          >
            Make default
          </button>
        ) : null}
        {confirming ? (
          <>
            <button type="button" className="danger" onClick={() => remove.mutate()}>
              Remove {account.name}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button
            type="button"
            className="danger"
            onClick={() => setConfirming(true)}
            disabled={denied !== null}
            aria-describedby={describedBy}
          >
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}

export function Accounts() {
  const api = useApi();
  const denied = useDenied("manage");
  const [params, setParams] = useSearchParams();
  const kind = (KINDS.find((k) => k.kind === params.get("kind"))?.kind ?? "sponsored_ads") as AccountKind;
  const status = STATUSES.find((s) => s === params.get("status"));
  const sort = sortOf(params.get("sort"));
  const q = params.get("q") ?? "";
  // What is typed, ahead of the search in the URL by at most SEARCH_DELAY_MS.
  const [typed, setTyped] = useState(q);
  // A search changed by the URL (back, forward, a link) replaces what is typed.
  const [shownQ, setShownQ] = useState(q);
  if (shownQ !== q) {
    setShownQ(q);
    if (typed.trim() !== q) setTyped(q);
  }
  // Cursors of the pages before this one, to page back; they belong to one
  // list (kind, status, search, sort), however the URL came to change.
  const listKey = JSON.stringify([kind, status, q, sort]);
  const [paging, setPaging] = useState<{ listKey: string; cursors: string[] }>({ listKey, cursors: [] });
  const cursors = paging.listKey === listKey ? paging.cursors : [];
  const setCursors = (next: string[]) => setPaging({ listKey, cursors: next });
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ["accounts", kind, status ?? "visible", q, sort, cursor ?? ""],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/accounts", {
          params: {
            query: { kind, sort, ...(status ? { status } : {}), ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const choose = (next: { kind?: AccountKind; status?: string; q?: string; sort?: AccountSort }, replace = false) => {
    // Any choice starts at the first page, even the tab already shown.
    setCursors([]);
    const merged = new URLSearchParams(params);
    if (next.kind) merged.set("kind", next.kind);
    for (const key of ["status", "q", "sort"] as const) {
      const value = next[key];
      if (value === undefined) continue;
      if (value && !(key === "sort" && value === "name")) merged.set(key, value);
      else merged.delete(key);
    }
    setParams(merged, { replace });
  };
  // The search follows typing once it pauses; each keystroke is no new
  // history entry.
  useEffect(() => {
    if (typed.trim() === q) return;
    const timer = setTimeout(() => choose({ q: typed.trim() }, true), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  });
  return (
    <>
      <h1>Accounts</h1>
      <div role="tablist" aria-label="Account kinds" className="tabs">
        {KINDS.map((k) => (
          <button
            key={k.kind}
            role="tab"
            type="button"
            aria-selected={k.kind === kind}
            aria-controls="accounts-panel"
            onClick={() => choose({ kind: k.kind })}
          >
            {k.label}
            {list.data ? ` (${list.data.by_kind[k.kind]})` : null}
          </button>
        ))}
      </div>
      <div id="accounts-panel" role="tabpanel" aria-label={KINDS.find((k) => k.kind === kind)?.label}>
        <div className="filters">
          <label htmlFor="account-search">Search</label>{" "}
          <input
            id="account-search"
            type="search"
            value={typed}
            maxLength={MAX_SEARCH_LENGTH}
            placeholder="Name or id"
            aria-describedby="account-search-hint"
            onChange={(e) => setTyped(e.target.value)}
          />
          <span id="account-search-hint" className="muted small">
            A part of the name, or the start of an account, profile, advertiser, instance or Ads account id.
          </span>
        </div>
        <label htmlFor="status-filter">Status</label>{" "}
        <select id="status-filter" value={status ?? ""} onChange={(e) => choose({ status: e.target.value })}>
          <option value="">All shown by your settings</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {list.isPending ? <Skeleton label="accounts" rows={6} /> : null}
        {list.isError ? <ErrorNotice error={list.error} onRetry={() => void list.refetch()} /> : null}
        {list.data ? (
          <>
            <p className="muted" data-testid="account-total">
              {list.data.total} account{list.data.total === 1 ? "" : "s"}
            </p>
            <DeniedNote id={DENIED_ID} reason={denied} />
            {list.data.accounts.length > 0 ? (
              <table>
                <thead>
                  <tr>
                    <SortHeader field="name" label="Account" sort={sort} onSort={(next) => choose({ sort: next })} />
                    <SortHeader field="marketplace" label="Marketplace" sort={sort} onSort={(next) => choose({ sort: next })} />
                    <th scope="col">Region</th>
                    <SortHeader field="status" label="Status" sort={sort} onSort={(next) => choose({ sort: next })} />
                    <th scope="col">Health</th>
                    <SortHeader field="last_synced" label="Last synced" sort={sort} onSort={(next) => choose({ sort: next })} />
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.accounts.map((a) => (
                    <Row key={a.account_id} account={a} denied={denied} />
                  ))}
                </tbody>
              </table>
            ) : (
              <p>
                No accounts of this kind{status ? ` with status ${status}` : ""}
                {q ? ` matching “${q}”` : ""}.
              </p>
            )}
            <nav className="pager" aria-label="Pages">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </button>
              <button
                type="button"
                disabled={!list.data.next_cursor}
                onClick={() => list.data?.next_cursor && setCursors([...cursors, list.data.next_cursor])}
              >
                Next page
              </button>
            </nav>
          </>
        ) : null}
      </div>
    </>
  );
}
