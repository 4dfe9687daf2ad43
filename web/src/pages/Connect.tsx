// Connecting Amazon: choose the consent region, go to Amazon, and land back
// here with `amazon=authorized&completion=…` (completed with the signed-in
// user's session) or `amazon=error&reason=…` (explained in words). The
// connection belongs to the active workspace: an organization's when one is
// active, so a member whose role does not allow connecting is told so here.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";

import { unwrap, type Region } from "../api/client";
import { useApi, useDenied } from "../api/context";
import { DeniedNote, ErrorNotice } from "../components/ui";
import { reasonText } from "../lib/reasons";

export const RETURN_PATH = "/amazon/return";

const REGIONS: { value: Region; label: string }[] = [
  { value: "na", label: "North America (amazon.com, .ca, .com.mx, .com.br)" },
  { value: "eu", label: "Europe, Middle East, India (amazon.co.uk, .de, .fr, .in, …)" },
  { value: "fe", label: "Far East (amazon.co.jp, .com.au, .sg)" },
];

export function returnUrl(): string {
  return `${window.location.origin}${RETURN_PATH}`;
}

export function Connect() {
  const api = useApi();
  const [region, setRegion] = useState<Region>("na");
  const denied = useDenied("connect");
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/amazon/connect", { body: { region, return_to: returnUrl() } })),
    onSuccess: (started) => window.location.assign(started.authorization_url),
  });
  return (
    <>
      <h1>Connect Amazon Ads</h1>
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          start.mutate();
        }}
      >
        <fieldset>
          <legend>Where are your Amazon Ads accounts?</legend>
          {REGIONS.map((r) => (
            <label key={r.value} className="radio">
              <input
                type="radio"
                name="region"
                value={r.value}
                checked={region === r.value}
                onChange={() => setRegion(r.value)}
              />
              {r.label}
            </label>
          ))}
        </fieldset>
        <p className="muted">
          Every region's accounts are discovered whichever you pick; the region only chooses Amazon's sign-in page.
        </p>
        <button type="submit" disabled={start.isPending || denied !== null} aria-describedby={denied ? "connect-denied" : undefined}>
          {start.isPending ? "Opening Amazon…" : "Continue to Amazon"}
        </button>
        <DeniedNote id="connect-denied" reason={denied} />
      </form>
      {start.isError ? <ErrorNotice error={start.error} onRetry={() => start.mutate()} /> : null}
    </>
  );
}

/** Where Amazon's round trip lands. */
export function AmazonReturn() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const outcome = params.get("amazon");
  const reason = params.get("reason");
  // Read once, then taken out of the address bar and the history entry: a
  // completion is single-use, but it has no business in history, a
  // screenshot or a bookmark.
  const [completion] = useState(() => params.get("completion"));
  useEffect(() => {
    if (params.has("completion")) {
      const kept = new URLSearchParams(params);
      kept.delete("completion");
      setParams(kept, { replace: true });
    }
  }, [params, setParams]);
  const complete = useMutation({
    mutationFn: (value: string) => unwrap(api.POST("/api/v1/amazon/complete", { body: { completion: value } })),
    onSuccess: () => void queryClient.invalidateQueries(),
  });
  const sent = useRef(false);
  useEffect(() => {
    if (outcome === "authorized" && completion && !sent.current) {
      sent.current = true;
      complete.mutate(completion);
    }
  }, [complete, completion, outcome]);

  if (outcome === "error") {
    return (
      <div className="card notice-error" role="alert">
        <h1>Amazon was not connected</h1>
        <p data-testid="reason">{reasonText(reason ?? "authorization_failed")}</p>
        <Link to="/connect">Try again</Link>
      </div>
    );
  }
  if (outcome !== "authorized" || !completion) {
    return (
      <div className="card">
        <h1>Nothing to complete</h1>
        <Link to="/connect">Connect Amazon</Link>
      </div>
    );
  }
  if (complete.isError) {
    return (
      <>
        <h1>Finishing the connection…</h1>
        <ErrorNotice error={complete.error} onRetry={() => complete.mutate(completion)} />
      </>
    );
  }
  if (complete.isSuccess) {
    const connection = complete.data.connection;
    return (
      <div className="card notice-good" role="status">
        <h1>Amazon connected</h1>
        <p>
          {connection.amazon_name ?? "Your Amazon login"} ({connection.amazon_email ?? "no email shared"}):{" "}
          {connection.account_count} accounts.
        </p>
        <Link to="/accounts">See your accounts</Link>
      </div>
    );
  }
  return (
    <div className="card" role="status" aria-busy="true">
      Finishing the connection: discovering your accounts in every region…
    </div>
  );
}
