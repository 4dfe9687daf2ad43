// One account: the ids Amazon knows it by, what the login may do with it
// (a Viewer's access is read-only), how it is reached, its status and
// health, and whether Amazon is throttling it right now.
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { unwrap } from "../api/client";
import { useApi, useSettings } from "../api/context";
import { AccessBadges } from "../components/AccessBadges";
import { AmazonThrottling } from "../components/AmazonThrottling";
import { Badge, ErrorNotice, Skeleton, When } from "../components/ui";
import { isManagedService, MANAGED_SERVICE_HINT, nativeId, roleText } from "../lib/accounts";
import { healthBadge, warningText } from "../lib/health";

const KIND_LABELS = { sponsored_ads: "Sponsored Ads", dsp_advertiser: "DSP advertiser", amc_instance: "AMC instance" };

export function AccountDetail() {
  const { id = "" } = useParams();
  const api = useApi();
  const settings = useSettings();
  const account = useQuery({
    queryKey: ["accounts", "one", id],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/{id}", { params: { path: { id } } })),
  });
  if (account.isPending) return <Skeleton label="the account" rows={6} />;
  if (account.isError) return <ErrorNotice error={account.error} onRetry={() => void account.refetch()} />;
  const a = account.data;
  return (
    <>
      <p>
        <Link to={`/accounts?kind=${a.kind}`}>← {KIND_LABELS[a.kind]} accounts</Link>
      </p>
      <h1>
        {a.name}
        {a.is_default ? <span className="badge badge-good"> Default</span> : null}
        <AccessBadges account={a} />
      </h1>
      <dl className="facts card" data-testid="account-facts">
        <dt>Kind</dt>
        <dd>{KIND_LABELS[a.kind]}</dd>
        <dt>Amazon ids</dt>
        <dd>{nativeId(a)}</dd>
        <dt>Access</dt>
        <dd data-testid="account-role">{roleText(a.role)}</dd>
        {isManagedService(a) ? (
          <>
            <dt>Reached</dt>
            <dd>{MANAGED_SERVICE_HINT}</dd>
          </>
        ) : null}
        <dt>Marketplace</dt>
        <dd>
          {a.marketplace_name ?? a.marketplace_id ?? "—"} · {a.region.toUpperCase()}
        </dd>
        <dt>Status</dt>
        <dd>
          {a.status}
          {a.source_status ? <span className="muted"> ({a.source_status})</span> : null}
        </dd>
        <dt>Health</dt>
        <dd>
          <Badge badge={healthBadge(a.health)} />
          {a.warnings.length > 0 ? (
            <ul className="warnings">
              {a.warnings.map((w) => (
                <li key={w}>{warningText(w)}</li>
              ))}
            </ul>
          ) : null}
          {a.throttling.length > 0 ? <AmazonThrottling throttling={a.throttling} prefs={settings} /> : null}
        </dd>
        <dt>Connected</dt>
        <dd>
          <When at={a.connected_at} />
        </dd>
        <dt>Last synced</dt>
        <dd>
          <When at={a.last_synced_at} />
        </dd>
      </dl>
      {a.kind === "sponsored_ads" || a.kind === "dsp_advertiser" ? (
        <p className="row">
          <Link to={`/accounts/${a.account_id}/reports`}>Reports</Link>
          {a.kind === "dsp_advertiser" ? <Link to={`/accounts/${a.account_id}/seats`}>DSP seats</Link> : null}
        </p>
      ) : null}
    </>
  );
}
