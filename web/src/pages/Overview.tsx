// The signed-in user's profile, account counts per kind, and a banner for
// whatever needs them (from `/accounts/health`).
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { unwrap } from "../api/client";
import { useApi } from "../api/context";
import { Countdown, ErrorNotice, Section, Skeleton, When } from "../components/ui";
import { useNow } from "../lib/useNow";

const DAY_MS = 86_400_000;

export function Overview() {
  const api = useApi();
  const now = useNow(60_000);
  const full = useQuery({ queryKey: ["me", "full"], queryFn: () => unwrap(api.GET("/api/v1/users/me/full")) });
  const health = useQuery({
    queryKey: ["accounts", "health"],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/health")),
  });
  if (full.isPending) return <Skeleton label="your profile" rows={5} />;
  if (full.isError) return <ErrorNotice error={full.error} onRetry={() => void full.refetch()} />;
  const { user, stats, connections } = full.data;
  const soonest = health.data?.soonest_consent_expiry ?? null;
  const needsAction = health.data?.needs_action ?? [];
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ") || user.username || user.id;
  return (
    <>
      <h1>Hello, {name}</h1>
      {needsAction.length > 0 ? (
        <div className="notice notice-action" role="status">
          {needsAction.length} account{needsAction.length === 1 ? " needs" : "s need"} your attention.{" "}
          <Link to="/connections">Review connections</Link>
        </div>
      ) : null}
      {soonest && Date.parse(soonest) - now < 30 * DAY_MS ? (
        <div className="notice notice-warn" role="status">
          Amazon consent ends <Countdown to={soonest} />: re-authorize before then.
        </div>
      ) : null}
      {health.isError ? <ErrorNotice error={health.error} onRetry={() => void health.refetch()} /> : null}
      <div className="cards">
        <Section title="Profile">
          <dl className="facts">
            <dt>Email</dt>
            <dd className="truncate" title={user.email ?? undefined} data-testid="profile-email">
              {user.email ?? "—"}
            </dd>
            <dt>User id</dt>
            <dd>
              <code>{user.id}</code>
            </dd>
            <dt>Last sign-in</dt>
            <dd>
              <When at={user.last_sign_in_at} />
            </dd>
          </dl>
        </Section>
        <Section title="Accounts">
          <dl className="facts" data-testid="stats">
            <dt>Total</dt>
            <dd>{stats.total_accounts}</dd>
            <dt>Active</dt>
            <dd>{stats.active_accounts}</dd>
            <dt>Sponsored Ads</dt>
            <dd>{stats.by_kind.sponsored_ads}</dd>
            <dt>DSP advertisers</dt>
            <dd>{stats.by_kind.dsp_advertiser}</dd>
            <dt>AMC instances</dt>
            <dd>{stats.by_kind.amc_instance}</dd>
            <dt>Connections</dt>
            <dd>{connections.length}</dd>
          </dl>
          {connections.length === 0 ? (
            <p>
              No Amazon account connected yet. <Link to="/connect">Connect one</Link>.
            </p>
          ) : null}
        </Section>
      </div>
    </>
  );
}
