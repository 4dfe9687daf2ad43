// An account's managed reports: ask for a preset of the account's kind over
// a range (the last seven complete days unless changed), the history of its
// jobs (newest first; a running one is asked after every few seconds until
// it ends), and a chart of the main metrics over the stored days of the
// completed jobs of one report, restated days marked, and the account's
// daily schedules. A member whose role does not allow using the Ads API sees
// the request form and the schedules' controls disabled, saying why; one who
// may not read sees none of it.
import { useInfiniteQuery, useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";

import { unwrap, type Account, type Api } from "../api/client";
import { useApi, useDenied, useSettings } from "../api/context";
import { MetricChart } from "../components/MetricChart";
import { ReportJobRow } from "../components/ReportJobRow";
import { ReportSchedules } from "../components/ReportSchedules";
import { DeniedNote, ErrorNotice, Section, Skeleton } from "../components/ui";
import {
  completedReports,
  dailySeries,
  defaultRange,
  historyKey,
  isFinished,
  METRICS,
  presetsFor,
  rangeProblem,
  reportLabel,
  todayIn,
  type Metric,
  type ReportJob,
} from "../lib/reports";
import { useNow } from "../lib/useNow";

/** How often a job still queued or generating is asked after. */
const POLL_MS = 3000;
const PAGE_SIZE = 10;

const jobKey = (accountId: string, jobId: string) => ["reports", accountId, "job", jobId];

/** A job read by its id (its files included), asked again while it runs. */
function jobQuery(api: Api, accountId: string, listed: ReportJob) {
  return {
    queryKey: jobKey(accountId, listed.job_id),
    queryFn: () =>
      unwrap(api.GET("/api/v1/accounts/{id}/reports/{job_id}", { params: { path: { id: accountId, job_id: listed.job_id } } })),
    placeholderData: listed,
    // The list already says why a failed job failed; no files to link.
    enabled: listed.status !== "failed",
    refetchInterval: (query: { state: { data?: ReportJob } }) =>
      query.state.data && isFinished(query.state.data.status) ? false : POLL_MS,
  };
}

function RequestForm({ account }: { account: Account }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const denied = useDenied("use");
  const presets = presetsFor(account.kind);
  // Today where the account is, kept current past midnight.
  const now = useNow(60_000);
  const today = todayIn(account.timezone, now);
  const [preset, setPreset] = useState(presets[0]?.name ?? "");
  const [range, setRange] = useState(() => defaultRange(today));
  const [problem, setProblem] = useState<string | null>(null);
  const id = account.account_id;
  const request = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/accounts/{id}/reports", {
          params: { path: { id } },
          body: { preset, start_date: range.start, end_date: range.end },
        }),
      ),
    onSuccess: (job) => {
      queryClient.setQueryData(jobKey(id, job.job_id), job);
      void queryClient.invalidateQueries({ queryKey: historyKey(id) });
    },
  });
  return (
    <form
      className="card"
      noValidate
      aria-label="Request a report"
      onSubmit={(e) => {
        e.preventDefault();
        const wrong = rangeProblem(range.start, range.end, today);
        setProblem(wrong);
        if (!wrong) request.mutate();
      }}
    >
      <div className="row">
        <div className="field">
          <label htmlFor="report-preset">Report</label>
          <select id="report-preset" value={preset} onChange={(e) => setPreset(e.target.value)}>
            {presets.map((p) => (
              <option key={p.name} value={p.name}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className={problem ? "field has-error" : "field"}>
          <label htmlFor="report-start">From</label>
          <input id="report-start" type="date" max={today} value={range.start} onChange={(e) => setRange({ ...range, start: e.target.value })} />
        </div>
        <div className={problem ? "field has-error" : "field"}>
          <label htmlFor="report-end">To (inclusive)</label>
          <input id="report-end" type="date" max={today} value={range.end} onChange={(e) => setRange({ ...range, end: e.target.value })} />
        </div>
      </div>
      {problem ? (
        <p className="field-error" role="alert" data-testid="range-problem">
          {problem}
        </p>
      ) : null}
      <p className="muted small">Days in the account's time zone ({account.timezone ?? "UTC"}); today there is {today}.</p>
      <button type="submit" disabled={request.isPending || denied !== null} aria-describedby={denied ? "reports-denied" : undefined}>
        {request.isPending ? "Requesting…" : "Request report"}
      </button>
      <DeniedNote id="reports-denied" reason={denied} />
      {request.isError ? <ErrorNotice error={request.error} /> : null}
    </form>
  );
}

function History({ account }: { account: Account }) {
  const api = useApi();
  const settings = useSettings();
  const id = account.account_id;
  const [chosenReport, setChosenReport] = useState<string | null>(null);
  const [metric, setMetric] = useState<Metric>("spend");
  const list = useInfiniteQuery({
    queryKey: historyKey(id),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/accounts/{id}/reports", {
          params: { path: { id }, query: { limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const listed = list.data?.pages.flatMap((p) => p.jobs) ?? [];
  const jobs = useQueries({ queries: listed.map((job) => jobQuery(api, id, job)) });
  const current = jobs.map((q, i) => q.data ?? listed[i]!);
  const reports = completedReports(current);
  const report = chosenReport && reports.includes(chosenReport) ? chosenReport : reports[0];
  const days = report ? dailySeries(current, report) : [];

  if (list.isPending) return <Skeleton label="the report history" rows={4} />;
  if (list.isError) return <ErrorNotice error={list.error} onRetry={() => void list.refetch()} />;
  return (
    <>
      <Section title="Main metrics per day">
        {report ? (
          <>
            <div className="row chart-controls">
              <label htmlFor="chart-report">Report</label>
              <select id="chart-report" value={report} onChange={(e) => setChosenReport(e.target.value)}>
                {reports.map((r) => (
                  <option key={r} value={r}>
                    {reportLabel(r)}
                  </option>
                ))}
              </select>
              <label htmlFor="chart-metric">Metric</label>
              <select id="chart-metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
                {METRICS.map((m) => (
                  <option key={m.key} value={m.key}>
                    {m.label}
                  </option>
                ))}
              </select>
            </div>
            <MetricChart days={days} metric={metric} currency={account.currency_code} dateFormat={settings.date_format} />
            <p className="muted small">Summed by day over the completed jobs listed below; a day several jobs pulled shows the newest pull.</p>
          </>
        ) : (
          <p className="muted">No completed report yet: the chart shows the stored days once one completes.</p>
        )}
      </Section>
      <Section title="History">
        {current.length === 0 ? (
          <p className="muted">No reports asked for yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Report</th>
                <th scope="col">Range</th>
                <th scope="col">Rows</th>
                <th scope="col">Files</th>
              </tr>
            </thead>
            <tbody>
              {current.map((job, i) => (
                <ReportJobRow key={job.job_id} job={job} onOpenFiles={() => void jobs[i]?.refetch()} />
              ))}
            </tbody>
          </table>
        )}
        {list.hasNextPage ? (
          <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
            {list.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        ) : null}
      </Section>
    </>
  );
}

export function Reports() {
  const { id = "" } = useParams();
  const api = useApi();
  const readDenied = useDenied("read");
  const account = useQuery({
    queryKey: ["accounts", "one", id],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/{id}", { params: { path: { id } } })),
  });
  if (account.isPending) return <Skeleton label="the account" rows={4} />;
  if (account.isError) return <ErrorNotice error={account.error} onRetry={() => void account.refetch()} />;
  const a = account.data;
  return (
    <>
      <p>
        <Link to={`/accounts/${a.account_id}`}>← {a.name}</Link>
      </p>
      <h1>Reports of {a.name}</h1>
      {presetsFor(a.kind).length === 0 ? (
        <p className="muted">Reports are for Sponsored Ads accounts and DSP advertisers.</p>
      ) : readDenied ? (
        <DeniedNote id="reports-read-denied" reason={readDenied} />
      ) : (
        <>
          <RequestForm account={a} />
          <History account={a} />
          <ReportSchedules account={a} />
        </>
      )}
    </>
  );
}
