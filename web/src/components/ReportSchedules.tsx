// An account's report schedules: what each makes, its re-pull days, whether
// it runs, its next and last run, and a form to add one (the name and days
// checked as the API would before asking). A member whose role does not
// allow using the Ads API sees them with every control disabled, saying why.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { unwrap, type Account } from "../api/client";
import { useApi, useDenied } from "../api/context";
import { historyKey, presetsFor } from "../lib/reports";
import {
  DEFAULT_REPULL_DAYS,
  nameProblem,
  parseRepullDays,
  ranSince,
  repullField,
  repullText,
  SCHEDULE_LIMIT,
  schedulesKey,
  schedulesPollMs,
  type Schedule,
} from "../lib/schedules";
import { ScheduleRow } from "./ScheduleRow";
import { DeniedNote, ErrorNotice, Section, Skeleton } from "./ui";

/** The note saying why the schedules' controls are disabled. */
const DENIED_ID = "schedules-denied";

/** A field's problem, found before asking the API. */
function Problem({ id, text }: { id: string; text: string | null }) {
  if (!text) return null;
  return (
    <p id={id} className="field-error" role="alert" data-testid="schedule-problem">
      {text}
    </p>
  );
}

function AddSchedule({ account, taken, denied }: { account: Account; taken: string[]; denied: string | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const presets = presetsFor(account.kind);
  const [name, setName] = useState("");
  const [preset, setPreset] = useState(presets[0]?.name ?? "");
  const [repull, setRepull] = useState(repullField(DEFAULT_REPULL_DAYS));
  const [enabled, setEnabled] = useState(true);
  const [problems, setProblems] = useState<{ name: string | null; repull: string | null }>({ name: null, repull: null });
  const id = account.account_id;
  const full = taken.length >= SCHEDULE_LIMIT;
  const add = useMutation({
    mutationFn: (days: number[]) =>
      unwrap(
        api.PUT("/api/v1/accounts/{id}/report-schedules/{name}", {
          params: { path: { id, name } },
          body: { preset, repull_after_days: days, enabled },
        }),
      ),
    onSuccess: () => {
      setName("");
      void queryClient.invalidateQueries({ queryKey: schedulesKey(id) });
    },
  });
  return (
    <form
      className="card"
      noValidate
      aria-label="Add a schedule"
      onSubmit={(e) => {
        e.preventDefault();
        const parsed = parseRepullDays(repull);
        const wrongName = nameProblem(name, taken);
        setProblems({ name: wrongName, repull: parsed.problem });
        if (!wrongName && parsed.days) add.mutate(parsed.days);
      }}
    >
      <div className="row">
        <div className={problems.name ? "field has-error" : "field"}>
          <label htmlFor="schedule-name">Name</label>
          <input
            id="schedule-name"
            value={name}
            placeholder="daily-campaigns"
            autoComplete="off"
            aria-describedby={problems.name ? "schedule-name-problem" : undefined}
            onChange={(e) => setName(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="schedule-preset">Report</label>
          <select id="schedule-preset" value={preset} onChange={(e) => setPreset(e.target.value)}>
            {presets.map((p) => (
              <option key={p.name} value={p.name}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className={problems.repull ? "field has-error" : "field"}>
          <label htmlFor="schedule-repull">Re-pull after (days)</label>
          <input
            id="schedule-repull"
            value={repull}
            inputMode="numeric"
            aria-describedby={problems.repull ? "schedule-repull-problem" : undefined}
            onChange={(e) => setRepull(e.target.value)}
          />
        </div>
        <div className="field check">
          <input id="schedule-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          <label htmlFor="schedule-enabled">Enabled</label>
        </div>
      </div>
      <Problem id="schedule-name-problem" text={problems.name} />
      <Problem id="schedule-repull-problem" text={problems.repull} />
      <button
        type="submit"
        disabled={add.isPending || denied !== null || full}
        aria-describedby={denied ? DENIED_ID : full ? "schedules-full" : undefined}
      >
        {add.isPending ? "Adding…" : "Add schedule"}
      </button>
      {full ? (
        <p id="schedules-full" className="muted small">
          {SCHEDULE_LIMIT} schedules is the most an account may have: delete one to add another.
        </p>
      ) : null}
      {add.isError ? <ErrorNotice error={add.error} /> : null}
    </form>
  );
}

export function ReportSchedules({ account }: { account: Account }) {
  const api = useApi();
  const denied = useDenied("use");
  const id = account.account_id;
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: schedulesKey(id),
    queryFn: async () => {
      const before = queryClient.getQueryData<{ schedules: Schedule[] }>(schedulesKey(id));
      const after = await unwrap(api.GET("/api/v1/accounts/{id}/report-schedules", { params: { path: { id } } }));
      // A run started jobs: the history shows them.
      if (before && ranSince(before.schedules, after.schedules)) {
        void queryClient.invalidateQueries({ queryKey: historyKey(id) });
      }
      return after;
    },
    refetchInterval: (query) => schedulesPollMs(query.state.data?.schedules ?? [], Date.now()),
  });
  const schedules: Schedule[] = list.data?.schedules ?? [];
  return (
    <Section title="Schedules">
      <p className="muted small">
        A schedule runs every morning after 06:00 in the account's time zone ({account.timezone ?? "UTC"}); a new one whose time
        today has passed runs within the hour. Each run pulls yesterday, and again the days its re-pulls count back from
        yesterday ({repullText(DEFAULT_REPULL_DAYS)} unless changed), because Amazon restates numbers for weeks. Every pull is kept
        as a new version; the jobs a schedule starts appear in the history.
      </p>
      {list.isPending ? (
        <Skeleton label="the schedules" rows={2} />
      ) : list.isError ? (
        <ErrorNotice error={list.error} onRetry={() => void list.refetch()} />
      ) : (
        <>
          {schedules.length === 0 ? (
            <p className="muted">No schedules yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Report</th>
                  <th scope="col">Re-pulls</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {schedules.map((schedule) => (
                  <ScheduleRow key={schedule.name} schedule={schedule} deniedNote={denied ? DENIED_ID : null} />
                ))}
              </tbody>
            </table>
          )}
          <AddSchedule account={account} taken={schedules.map((s) => s.name)} denied={denied} />
        </>
      )}
      <DeniedNote id={DENIED_ID} reason={denied} />
    </Section>
  );
}
