// One report schedule in the list: what it makes, its re-pull days (changed
// in place), enabled (a switch), its next and last run, and delete after a
// confirmation. Every change replaces the schedule (PUT) with what it makes
// kept; the API's refusal shows on the row.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { unwrap } from "../api/client";
import { useApi } from "../api/context";
import {
  isDue,
  parseRepullDays,
  replacementBody,
  repullField,
  repullText,
  scheduleReportLabel,
  schedulesKey,
  type Schedule,
} from "../lib/schedules";
import { useNow } from "../lib/useNow";
import { Countdown, ErrorNotice, When } from "./ui";

/** `deniedNote`: the id of the note saying why the member may not change
 * schedules, or null when they may. */
export function ScheduleRow({ schedule, deniedNote }: { schedule: Schedule; deniedNote: string | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const now = useNow();
  const [editing, setEditing] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  // Where the switch was moved to, until the API answers. Set in the click's
  // own render: the mutation's pending state arrives a tick later, and a
  // controlled checkbox would spring back meanwhile.
  const [switchedTo, setSwitchedTo] = useState<boolean | null>(null);
  const { account_id: id, name } = schedule;
  const path = { params: { path: { id, name } } };
  const refresh = () => void queryClient.invalidateQueries({ queryKey: schedulesKey(id) });
  const replace = useMutation({
    mutationFn: (change: { repull_after_days?: number[]; enabled?: boolean }) =>
      unwrap(api.PUT("/api/v1/accounts/{id}/report-schedules/{name}", { ...path, body: replacementBody(schedule, change) })),
    onSuccess: (replaced) => {
      setEditing(null);
      // The list shows the answer at once, not the old schedule until it is read again.
      queryClient.setQueryData(schedulesKey(id), (list: { schedules: Schedule[] } | undefined) =>
        list && { schedules: list.schedules.map((s) => (s.name === replaced.name ? replaced : s)) },
      );
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/accounts/{id}/report-schedules/{name}", path)),
    onSuccess: refresh,
  });
  const busy = replace.isPending || remove.isPending;
  const disabled = busy || deniedNote !== null;
  const describedBy = deniedNote ?? undefined;
  const failure = replace.error ?? remove.error;
  const repullId = `schedule-repull-${name}`;
  // The switch moves when clicked, back if the API refuses.
  const enabled = switchedTo ?? schedule.enabled;
  return (
    <tr data-testid="schedule" data-name={name}>
      <th scope="row">
        {name}
        <div className="muted small">by {schedule.created_by}</div>
        {failure ? <ErrorNotice error={failure} /> : null}
      </th>
      <td>{scheduleReportLabel(schedule)}</td>
      <td>
        {editing === null ? (
          <span data-testid="schedule-repulls">{repullText(schedule.repull_after_days)}</span>
        ) : (
          <form
            noValidate
            aria-label={`Re-pull days of ${name}`}
            onSubmit={(e) => {
              e.preventDefault();
              const parsed = parseRepullDays(editing);
              setProblem(parsed.problem);
              if (parsed.days) replace.mutate({ repull_after_days: parsed.days });
            }}
          >
            <div className={problem ? "field has-error" : "field"}>
              <label htmlFor={repullId}>Re-pull after (days)</label>
              <input
                id={repullId}
                value={editing}
                inputMode="numeric"
                aria-describedby={problem ? `${repullId}-problem` : undefined}
                onChange={(e) => setEditing(e.target.value)}
              />
            </div>
            {problem ? (
              <p id={`${repullId}-problem`} className="field-error" role="alert">
                {problem}
              </p>
            ) : null}
            <div className="actions">
              <button type="submit" disabled={disabled}>
                {replace.isPending ? "Saving…" : "Save"}
              </button>
              <button type="button" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </td>
      <td>
        <input
          type="checkbox"
          aria-label={`${name} enabled`}
          checked={enabled}
          disabled={disabled}
          aria-describedby={describedBy}
          onChange={(e) => {
            setSwitchedTo(e.target.checked);
            replace.mutate({ enabled: e.target.checked }, { onSettled: () => setSwitchedTo(null) });
          }}
        />
      </td>
      <td data-testid="schedule-next">
        {!enabled ? (
          <span className="muted">paused</span>
        ) : isDue(schedule, now) ? (
          "due: runs within the hour"
        ) : (
          <>
            <When at={schedule.next_run_at} />
            <div className="muted small">
              <Countdown to={schedule.next_run_at} />
            </div>
          </>
        )}
      </td>
      <td>
        <When at={schedule.last_run_at} />
        {schedule.last_job_ids.length > 0 ? (
          <div className="muted small">
            {schedule.last_job_ids.length} job{schedule.last_job_ids.length === 1 ? "" : "s"} started
          </div>
        ) : null}
        {schedule.last_error ? (
          <p className="field-error small" data-testid="schedule-last-error">
            Asked for nothing: <code>{schedule.last_error}</code>
          </p>
        ) : null}
      </td>
      <td className="actions">
        {editing === null ? (
          <button
            type="button"
            onClick={() => {
              setProblem(null);
              setEditing(repullField(schedule.repull_after_days));
            }}
            disabled={disabled}
            aria-describedby={describedBy}
          >
            Change re-pulls
          </button>
        ) : null}
        {confirming ? (
          <>
            <button type="button" className="danger" onClick={() => remove.mutate()} disabled={busy}>
              Delete {name}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={disabled} aria-describedby={describedBy}>
            Delete
          </button>
        )}
      </td>
    </tr>
  );
}
