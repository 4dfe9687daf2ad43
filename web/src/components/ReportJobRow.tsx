// One report job in the history: its status and the time waited (counting
// while Amazon works), the range and report, rows, why it failed, and once
// completed a link to each stored day. The links live 15 minutes, so
// opening the files fetches the job again for fresh ones.
import { useSettings } from "../api/context";
import { formatDay, isFinished, reportLabel, statusBadge, waitedSeconds, waitedText, type ReportJob } from "../lib/reports";
import { useNow } from "../lib/useNow";
import { Badge, When } from "./ui";

export function ReportJobRow({ job, onOpenFiles }: { job: ReportJob; onOpenFiles: () => void }) {
  const settings = useSettings();
  const now = useNow();
  const day = (d: string) => formatDay(d, settings.date_format);
  return (
    <tr data-testid="report-job" data-job-id={job.job_id}>
      <td>
        <span data-testid="job-status">
          <Badge badge={statusBadge(job.status)} />
        </span>
        <div className="muted small" data-testid="job-waited">
          {waitedText(waitedSeconds(job, now))}
          {isFinished(job.status) ? null : "…"}
        </div>
      </td>
      <td>
        {reportLabel(job.report)}
        <div className="muted small">
          asked <When at={job.created_at} />
        </div>
      </td>
      <td>
        {day(job.start_date)} – {day(job.end_date)}
      </td>
      <td data-testid="job-rows">{job.status === "completed" ? job.rows.toLocaleString("en-US") : "—"}</td>
      <td>
        {job.failure ? (
          <p className="field-error" data-testid="job-failure">
            {job.failure.message} <span className="muted small">({job.failure.code})</span>
          </p>
        ) : null}
        {job.status === "completed" ? (
          <details
            onToggle={(e) => {
              if (e.currentTarget.open) onOpenFiles();
            }}
          >
            <summary>
              {job.files.length} stored day{job.files.length === 1 ? "" : "s"}
            </summary>
            <ul className="plain files">
              {job.files.map((file) => (
                <li key={file.date}>
                  <a href={file.url} target="_blank" rel="noopener noreferrer" data-testid="report-file">
                    {day(file.date)}
                  </a>{" "}
                  <span className="muted small">
                    {file.rows.toLocaleString("en-US")} rows · link until <When at={file.expires_at} />
                  </span>
                </li>
              ))}
            </ul>
          </details>
        ) : null}
      </td>
    </tr>
  );
}
