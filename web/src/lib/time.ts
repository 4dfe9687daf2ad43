// Times as the user's settings ask for them, and countdowns. Pure: the unit
// tests pin the clock by passing `now`.

export type DateFormat = "MM/DD/YYYY" | "DD/MM/YYYY" | "YYYY-MM-DD";
export type TimeFormat = "12h" | "24h";

export interface TimePreferences {
  timezone: string;
  date_format: DateFormat;
  time_format: TimeFormat;
}

function parts(at: Date, timezone: string, hour12: boolean): Record<string, string> {
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12,
    });
  } catch {
    // A time zone this browser does not know: UTC, rather than nothing.
    return parts(at, "UTC", hour12);
  }
  const out: Record<string, string> = {};
  for (const part of formatter.formatToParts(at)) out[part.type] = part.value;
  return out;
}

/** `at` (an RFC 3339 time or a Date) in the user's zone and formats. */
export function formatDateTime(at: string | Date, prefs: TimePreferences): string {
  const date = typeof at === "string" ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return "—";
  const p = parts(date, prefs.timezone, prefs.time_format === "12h");
  const day =
    prefs.date_format === "YYYY-MM-DD"
      ? `${p.year}-${p.month}-${p.day}`
      : prefs.date_format === "DD/MM/YYYY"
        ? `${p.day}/${p.month}/${p.year}`
        : `${p.month}/${p.day}/${p.year}`;
  // Intl writes midnight as "24" in some engines' 24-hour mode.
  const hour = prefs.time_format === "24h" && p.hour === "24" ? "00" : p.hour;
  const time = prefs.time_format === "12h" ? `${hour}:${p.minute} ${p.dayPeriod}` : `${hour}:${p.minute}`;
  return `${day} ${time}`;
}

/** The time of day of `at` to the second ("14:03:12", "2:03:12 PM") in the
 * user's zone: for moments within minutes of now, where the date is noise. */
export function formatClockTime(at: string | Date, prefs: TimePreferences): string {
  const date = typeof at === "string" ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return "—";
  const p = parts(date, prefs.timezone, prefs.time_format === "12h");
  if (prefs.time_format === "12h") return `${Number(p.hour)}:${p.minute}:${p.second} ${p.dayPeriod}`;
  return `${p.hour === "24" ? "00" : p.hour}:${p.minute}:${p.second}`;
}

/** "in 4 min 05 s", "in 3 h 02 min", "in 12 days", "2 min ago", "now". */
export function countdown(until: string | Date, now: number): string {
  const target = typeof until === "string" ? Date.parse(until) : until.getTime();
  if (Number.isNaN(target)) return "—";
  const delta = Math.round((target - now) / 1000);
  const past = delta < 0;
  const s = Math.abs(delta);
  if (s < 1) return "now";
  let text: string;
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  else if (s < 86_400) text = `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  else text = `${Math.floor(s / 86_400)} days`;
  return past ? `${text} ago` : `in ${text}`;
}

/** Whole seconds left until `until` (0 once past). */
export function secondsLeft(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}
