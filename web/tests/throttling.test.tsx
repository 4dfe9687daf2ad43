// The throttling badge, rendered to markup with the clock pinned (no DOM
// library needed: the badge's first render is the whole of what it shows).
import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { AmazonThrottling } from "../src/components/AmazonThrottling";
import { formatClockTime, type TimePreferences } from "../src/lib/time";
import { runningThrottles } from "../src/lib/throttling";

const NOW = Date.parse("2026-12-01T14:02:32Z");
const UTC_24H: TimePreferences = { timezone: "UTC", date_format: "YYYY-MM-DD", time_format: "24h" };
const RUNNING = { api: "sp", until: "2026-12-01T14:03:12Z" };
const ENDED = { api: "reporting", until: "2026-12-01T14:02:31Z" };

describe("Amazon's throttling of an account", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  const render = (throttling: { api: string; until: string }[]) =>
    renderToStaticMarkup(<AmazonThrottling throttling={throttling} prefs={UTC_24H} />);

  it("shows a running cooldown in words: the API, its end and how long is left", () => {
    const html = render([RUNNING]);
    expect(html).toContain("Throttled by Amazon");
    expect(html).toMatch(/title="Amazon is rate-limiting/);
    expect(html).toContain("<code>sp</code> calls wait until");
    expect(html).toContain(`<time dateTime="${RUNNING.until}">14:03:12</time>`);
    expect(html).toContain("in 40 s");
  });

  it("shows nothing once every cooldown has ended, and leaves ended ones out", () => {
    expect(render([ENDED])).toBe("");
    expect(render([])).toBe("");
    const html = render([ENDED, RUNNING]);
    expect(html).toContain("sp");
    expect(html).not.toContain("reporting");
  });

  it("keeps running cooldowns soonest first", () => {
    const later = { api: "reporting", until: "2026-12-01T14:05:00Z" };
    expect(runningThrottles([later, ENDED, RUNNING], NOW).map((t) => t.api)).toEqual(["sp", "reporting"]);
  });

  it("writes the end in the user's zone and clock, to the second", () => {
    expect(formatClockTime(RUNNING.until, { ...UTC_24H, timezone: "Europe/Berlin" })).toBe("15:03:12");
    expect(formatClockTime(RUNNING.until, { ...UTC_24H, time_format: "12h" })).toBe("2:03:12 PM");
    expect(formatClockTime("2026-12-01T00:00:05Z", UTC_24H)).toBe("00:00:05");
  });
});
