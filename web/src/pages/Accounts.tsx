// Accounts in tabs per kind, with a status filter, cursor paging (the
// user's items-per-page), the default account, removal, each DSP
// advertiser's seats, whether Amazon is throttling each right now, and
// which ones the login may only read or reaches through Amazon's managed
// service.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";

import { unwrap, type Account, type AccountKind, type AccountStatus } from "../api/client";
import { useApi, useSettings } from "../api/context";
import { AccessBadges } from "../components/AccessBadges";
import { AmazonThrottling } from "../components/AmazonThrottling";
import { Badge, ErrorNotice, Skeleton, When } from "../components/ui";
import { nativeId } from "../lib/accounts";
import { healthBadge } from "../lib/health";

const KINDS: { kind: AccountKind; label: string }[] = [
  { kind: "sponsored_ads", label: "Sponsored Ads" },
  { kind: "dsp_advertiser", label: "DSP" },
  { kind: "amc_instance", label: "AMC" },
];
const STATUSES: AccountStatus[] = ["active", "partial", "pending", "disabled"];

function Row({ account }: { account: Account }) {
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
          <button type="button" onClick={() => makeDefault.mutate()} disabled={makeDefault.isPending}>
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
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}

export function Accounts() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const kind = (KINDS.find((k) => k.kind === params.get("kind"))?.kind ?? "sponsored_ads") as AccountKind;
  const status = STATUSES.find((s) => s === params.get("status"));
  // Cursors of the pages before this one, to page back.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ["accounts", kind, status ?? "visible", cursor ?? ""],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/accounts", {
          params: { query: { kind, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const choose = (next: { kind?: AccountKind; status?: string }) => {
    setCursors([]);
    const merged = new URLSearchParams(params);
    if (next.kind) merged.set("kind", next.kind);
    if (next.status !== undefined) {
      if (next.status) merged.set("status", next.status);
      else merged.delete("status");
    }
    setParams(merged);
  };
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
            {list.data.accounts.length > 0 ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Account</th>
                    <th scope="col">Marketplace</th>
                    <th scope="col">Region</th>
                    <th scope="col">Status</th>
                    <th scope="col">Health</th>
                    <th scope="col">Last synced</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.accounts.map((a) => (
                    <Row key={a.account_id} account={a} />
                  ))}
                </tbody>
              </table>
            ) : (
              <p>No accounts of this kind{status ? ` with status ${status}` : ""}.</p>
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
