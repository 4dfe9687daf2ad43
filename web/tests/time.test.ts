import { describe, expect, it } from "vitest";

import { countdown, formatDateTime, secondsLeft } from "../src/lib/time";

const AT = "2026-12-01T15:04:05Z";

describe("formatDateTime follows the user's settings", () => {
  it("in their time zone, date format and 12- or 24-hour clock", () => {
    expect(formatDateTime(AT, { timezone: "UTC", date_format: "MM/DD/YYYY", time_format: "12h" })).toBe(
      "12/01/2026 03:04 PM",
    );
    expect(formatDateTime(AT, { timezone: "Europe/Berlin", date_format: "DD/MM/YYYY", time_format: "24h" })).toBe(
      "01/12/2026 16:04",
    );
    expect(formatDateTime(AT, { timezone: "Asia/Tokyo", date_format: "YYYY-MM-DD", time_format: "24h" })).toBe(
      "2026-12-02 00:04",
    );
  });

  it("falls back to UTC for a zone the browser does not know, and says so for no date", () => {
    expect(formatDateTime(AT, { timezone: "Mars/Olympus", date_format: "YYYY-MM-DD", time_format: "24h" })).toBe(
      "2026-12-01 15:04",
    );
    expect(formatDateTime("not a date", { timezone: "UTC", date_format: "YYYY-MM-DD", time_format: "24h" })).toBe("—");
  });
});

describe("countdown", () => {
  const now = Date.parse(AT);
  it("reads in the largest sensible units, future and past", () => {
    expect(countdown(new Date(now + 42_000), now)).toBe("in 42 s");
    expect(countdown(new Date(now + 245_000), now)).toBe("in 4 min 05 s");
    expect(countdown(new Date(now + 3 * 3600_000 + 120_000), now)).toBe("in 3 h 02 min");
    expect(countdown(new Date(now + 12 * 86_400_000 + 5000), now)).toBe("in 12 days");
    expect(countdown(new Date(now - 120_000), now)).toBe("2 min 00 s ago");
    expect(countdown(new Date(now), now)).toBe("now");
  });

  it("counts whole seconds left for a Retry-After, never below zero", () => {
    expect(secondsLeft(now + 59_100, now)).toBe(60);
    expect(secondsLeft(now + 1, now)).toBe(1);
    expect(secondsLeft(now - 5000, now)).toBe(0);
  });
});
