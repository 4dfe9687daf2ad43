// Whether Amazon is throttling an account right now: a badge, and per API
// family when its cooldown ends. Gone once every cooldown has ended.
import { countdown, formatClockTime, type TimePreferences } from "../lib/time";
import { runningThrottles, type Throttle } from "../lib/throttling";
import { useNow } from "../lib/useNow";
import { Badge } from "./ui";

const HINT = "Amazon is rate-limiting these calls: proxied calls wait for the cooldown or are answered 429 until it ends.";

export function AmazonThrottling({ throttling, prefs }: { throttling: Throttle[]; prefs: TimePreferences }) {
  // Ticks so the countdown moves and the badge leaves when the last cooldown ends.
  const now = useNow();
  const running = runningThrottles(throttling, now);
  if (running.length === 0) return null;
  return (
    <div className="throttling">
      <Badge badge={{ label: "Throttled by Amazon", tone: "warn", hint: HINT }} />
      <ul className="plain muted small" aria-label="Throttled APIs">
        {running.map((throttle) => (
          <li key={throttle.api}>
            <code>{throttle.api}</code> calls wait until{" "}
            <time dateTime={throttle.until}>{formatClockTime(throttle.until, prefs)}</time> (
            {countdown(throttle.until, now)})
          </li>
        ))}
      </ul>
    </div>
  );
}
