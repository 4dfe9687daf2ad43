// Report schedules as the reports page shows and edits them: the name and
// re-pull days the form accepts (the API's rules, checked before asking),
// how a schedule's days and report read, the body that replaces one, and
// the key its list is cached under.
// Pure: the unit tests call these directly.
import type { Schemas } from "../api/client";
import { reportLabel } from "./reports";

export type Schedule = Schemas["ScheduleView"];
export type ScheduleBody = Schemas["ScheduleBody"];

/** Amazon restates a day's numbers for weeks: the API's default re-pulls. */
export const DEFAULT_REPULL_DAYS = [1, 7, 28];
export const MAX_REPULLS = 5;
export const MAX_REPULL_DAY = 60;
/** The most schedules an account may have (`REPORT_SCHEDULE_LIMIT`). */
export const SCHEDULE_LIMIT = 20;

/** The query cache's key for an account's schedules. */
export const schedulesKey = (accountId: string) => ["reports", accountId, "schedules"];

const NAME = /^[a-z0-9_-]{1,64}$/;

/** What is wrong with a new schedule's name. One already taken would be
 * replaced by the API's PUT, so the form refuses it rather than overwrite. */
export function nameProblem(name: string, taken: readonly string[]): string | null {
  if (!NAME.test(name)) return "A name is 1 to 64 lowercase letters, digits, - or _.";
  if (taken.includes(name)) return `A schedule named ${name} exists: change it in the list.`;
  return null;
}

export type RepullParse = { days: number[]; problem: null } | { days: null; problem: string };

/** Re-pull days as typed ("1, 7, 28", spaces or commas between), sorted,
 * each once (as the API keeps them); an empty field is none: each day
 * pulled once. */
export function parseRepullDays(text: string): RepullParse {
  const words = text.split(/[\s,]+/).filter((w) => w !== "");
  const days = new Set<number>();
  for (const word of words) {
    const day = /^\d+$/.test(word) ? Number(word) : NaN;
    if (!(day >= 1 && day <= MAX_REPULL_DAY)) {
      return { days: null, problem: `Re-pull days are whole numbers from 1 to ${MAX_REPULL_DAY}: not "${word}".` };
    }
    days.add(day);
  }
  if (days.size > MAX_REPULLS) return { days: null, problem: `At most ${MAX_REPULLS} re-pull days.` };
  return { days: [...days].sort((a, b) => a - b), problem: null };
}

/** Days as the field shows them for editing. */
export function repullField(days: readonly number[]): string {
  return days.join(", ");
}

/** "1, 7 and 28 days", "3 days", "1 day", "none". */
export function repullText(days: readonly number[]): string {
  if (days.length === 0) return "none";
  const unit = days.length === 1 && days[0] === 1 ? "day" : "days";
  const listed = days.length === 1 ? `${days[0]}` : `${days.slice(0, -1).join(", ")} and ${days[days.length - 1]}`;
  return `${listed} ${unit}`;
}

/** What a schedule makes: its preset's label, or its report's name for an
 * Amazon configuration. */
export function scheduleReportLabel(schedule: Pick<Schedule, "preset" | "report">): string {
  return reportLabel(schedule.preset ?? schedule.report);
}

/** Whether a schedule waits for the next run of the schedules (hourly on
 * AWS): its time has come, or it is new and its time today had passed. */
export function isDue(schedule: Pick<Schedule, "enabled" | "next_run_at">, now: number): boolean {
  return schedule.enabled && Date.parse(schedule.next_run_at) <= now;
}

const DUE_POLL_MS = 15_000;
const IDLE_POLL_MS = 5 * 60_000;

/** How often to read the schedules again: often while one is due, to show
 * its run (and its jobs in the history) soon after it happens. */
export function schedulesPollMs(schedules: Pick<Schedule, "enabled" | "next_run_at">[], now: number): number {
  return schedules.some((s) => isDue(s, now)) ? DUE_POLL_MS : IDLE_POLL_MS;
}
/** Whether a schedule ran between two readings of the list: its jobs are
 * new in the history. */
export function ranSince(before: Pick<Schedule, "name" | "last_run_at">[], after: Pick<Schedule, "name" | "last_run_at">[]): boolean {
  const lastRuns = new Map(before.map((s) => [s.name, s.last_run_at ?? null]));
  return after.some((s) => s.last_run_at && (lastRuns.get(s.name) ?? null) !== s.last_run_at);
}

/** The PUT body that keeps what a schedule makes and changes the rest. */
export function replacementBody(
  schedule: Pick<Schedule, "preset" | "configuration" | "repull_after_days" | "enabled">,
  change: { repull_after_days?: number[]; enabled?: boolean },
): ScheduleBody {
  const what = schedule.preset ? { preset: schedule.preset } : { configuration: schedule.configuration };
  return {
    ...what,
    repull_after_days: change.repull_after_days ?? schedule.repull_after_days,
    enabled: change.enabled ?? schedule.enabled,
  };
}
