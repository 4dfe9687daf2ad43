// Managed reports as the reports page shows them: the presets an account's
// kind may ask for, the range the form offers and refuses, how long a job
// has waited, and the stored days of completed jobs merged for the chart.
// Pure: the unit tests pin `today` and `now`.
import type { AccountKind, Schemas } from "../api/client";
import type { DateFormat } from "./time";
import type { Badge } from "./health";

export type ReportJob = Schemas["ReportJobView"];
export type JobStatus = Schemas["JobStatus"];
export type Totals = Schemas["Totals"];

export interface Preset {
  name: string;
  label: string;
  kind: AccountKind;
}

/** The API's presets (docs/reports.md), each for one account kind. */
export const PRESETS: Preset[] = [
  { name: "sp_campaigns", label: "Sponsored Products · campaigns", kind: "sponsored_ads" },
  { name: "sp_ad_groups", label: "Sponsored Products · ad groups", kind: "sponsored_ads" },
  { name: "sp_targeting", label: "Sponsored Products · targeting", kind: "sponsored_ads" },
  { name: "sp_search_terms", label: "Sponsored Products · search terms", kind: "sponsored_ads" },
  { name: "sp_advertised_products", label: "Sponsored Products · advertised products", kind: "sponsored_ads" },
  { name: "sb_campaigns", label: "Sponsored Brands · campaigns", kind: "sponsored_ads" },
  { name: "sd_campaigns", label: "Sponsored Display · campaigns", kind: "sponsored_ads" },
  { name: "dsp_campaigns", label: "DSP · campaigns", kind: "dsp_advertiser" },
];

/** The query cache's key for an account's report history. */
export const historyKey = (accountId: string) => ["reports", accountId, "list"];

export function presetsFor(kind: AccountKind): Preset[] {
  return PRESETS.filter((p) => p.kind === kind);
}

/** A preset's label, or the report's own name (`custom-<hash>`). */
export function reportLabel(report: string): string {
  return PRESETS.find((p) => p.name === report)?.label ?? report;
}

/** Today (`YYYY-MM-DD`) where the account is: the API refuses a range
 * ending later. An unknown or missing zone is UTC, as on the API. */
export function todayIn(timezone: string | null | undefined, now: number): string {
  const format = (timeZone: string) =>
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  try {
    return format(timezone || "UTC");
  } catch {
    return format("UTC");
  }
}

/** `day` moved by `days` (calendar arithmetic on the date alone). */
export function addDays(day: string, days: number): string {
  const at = new Date(`${day}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

/** The last seven complete days: today's data is still arriving. */
export function defaultRange(today: string): { start: string; end: string } {
  return { start: addDays(today, -7), end: addDays(today, -1) };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** What is wrong with a range before asking (the API checks retention). */
export function rangeProblem(start: string, end: string, today: string): string | null {
  if (!DAY.test(start) || !DAY.test(end)) return "Choose a start and an end date.";
  if (end > today) return `The end date cannot be after today (${today}): Amazon has no data yet.`;
  if (start > end) return "The start date cannot be after the end date.";
  return null;
}

export function isFinished(status: JobStatus): boolean {
  return status === "completed" || status === "failed";
}

/** Seconds waited: the API's count when finished, else counted on from its
 * creation by the clock (the count is as of the last fetch). */
export function waitedSeconds(job: Pick<ReportJob, "status" | "created_at" | "waited_seconds">, now: number): number {
  if (isFinished(job.status)) return job.waited_seconds;
  const since = Math.floor((now - Date.parse(job.created_at)) / 1000);
  return Number.isFinite(since) ? Math.max(job.waited_seconds, since) : job.waited_seconds;
}

/** "waited 12 s", "waited 3 min", "waited 2 h 05 min". */
export function waitedText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `waited ${s} s`;
  if (s < 3600) return `waited ${Math.floor(s / 60)} min`;
  return `waited ${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

const STATUS_BADGES: Record<JobStatus, Badge> = {
  queued: { label: "Queued", tone: "info", hint: "Waiting for its turn to ask Amazon." },
  generating: { label: "Generating", tone: "warn", hint: "Amazon is generating it: minutes to hours." },
  completed: { label: "Completed", tone: "good", hint: null },
  failed: { label: "Failed", tone: "bad", hint: null },
};

export function statusBadge(status: JobStatus): Badge {
  return STATUS_BADGES[status];
}

/** A day (`YYYY-MM-DD`) in the user's date format. */
export function formatDay(day: string, format: DateFormat): string {
  const [year, month, date] = day.split("-");
  if (format === "YYYY-MM-DD") return day;
  return format === "DD/MM/YYYY" ? `${date}/${month}/${year}` : `${month}/${date}/${year}`;
}

export type Metric = keyof Totals;

export const METRICS: { key: Metric; label: string; money: boolean }[] = [
  { key: "spend", label: "Spend", money: true },
  { key: "impressions", label: "Impressions", money: false },
  { key: "clicks", label: "Clicks", money: false },
  { key: "sales", label: "Sales", money: true },
];

export interface DayPoint {
  date: string;
  totals: Totals;
  /** Pulled by more than one job: these are the newest job's numbers. */
  restated: boolean;
  /** The job whose numbers these are. */
  jobId: string;
}

/** One point per stored day of the completed jobs of `report`, by date. A
 * day several jobs stored takes the newest job's numbers (a later pull is
 * Amazon's restatement) and is marked restated. */
export function dailySeries(jobs: ReportJob[], report: string): DayPoint[] {
  const newestFirst = jobs
    .filter((j) => j.status === "completed" && j.report === report)
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  const days = new Map<string, DayPoint>();
  for (const job of newestFirst) {
    for (const file of job.files) {
      const seen = days.get(file.date);
      if (seen) seen.restated = true;
      else days.set(file.date, { date: file.date, totals: file.totals, restated: false, jobId: job.job_id });
    }
  }
  return [...days.values()].sort((a, b) => a.date.localeCompare(b.date));
}

/** The reports the completed jobs hold, in order of first appearance. */
export function completedReports(jobs: ReportJob[]): string[] {
  return [...new Set(jobs.filter((j) => j.status === "completed").map((j) => j.report))];
}

/** A metric's value as the chart and its table say it. */
export function formatMetric(value: number, money: boolean, currency: string | null | undefined): string {
  if (money) {
    try {
      if (currency) return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(value);
    } catch {
      // An unknown currency code: the number alone.
    }
    return new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
  }
  return new Intl.NumberFormat("en-US").format(value);
}
