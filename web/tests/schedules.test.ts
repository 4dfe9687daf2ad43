import { describe, expect, it } from "vitest";

import {
  DEFAULT_REPULL_DAYS,
  isDue,
  nameProblem,
  parseRepullDays,
  ranSince,
  replacementBody,
  repullField,
  repullText,
  scheduleReportLabel,
  schedulesPollMs,
} from "../src/lib/schedules";

describe("a schedule's name", () => {
  it("is 1 to 64 lowercase letters, digits, - or _", () => {
    expect(nameProblem("daily-campaigns_2", [])).toBeNull();
    expect(nameProblem("a".repeat(64), [])).toBeNull();
    for (const wrong of ["", "Daily", "daily campaigns", "é", "a".repeat(65), "a/b"]) {
      expect(nameProblem(wrong, []), wrong).toMatch(/1 to 64 lowercase/);
    }
  });
  it("is not one already taken (the API would replace that schedule)", () => {
    expect(nameProblem("daily", ["daily", "weekly"])).toBe("A schedule named daily exists: change it in the list.");
  });
});

describe("re-pull days", () => {
  it("read as typed, commas or spaces between, sorted", () => {
    expect(parseRepullDays("1, 7, 28")).toEqual({ days: [1, 7, 28], problem: null });
    expect(parseRepullDays(" 28 7,1 ")).toEqual({ days: [1, 7, 28], problem: null });
    expect(parseRepullDays("60")).toEqual({ days: [60], problem: null });
    expect(parseRepullDays("1 2 3 4 5").days).toEqual([1, 2, 3, 4, 5]);
  });
  it("may be none: each day pulled once", () => {
    expect(parseRepullDays("")).toEqual({ days: [], problem: null });
    expect(parseRepullDays(" , ")).toEqual({ days: [], problem: null });
  });
  it("are kept once each, as the API keeps them", () => {
    expect(parseRepullDays("7, 1, 7")).toEqual({ days: [1, 7], problem: null });
    expect(parseRepullDays("1 2 3 4 5 5").days).toEqual([1, 2, 3, 4, 5]);
  });
  it("refuse what the API refuses: outside 1 to 60, not whole, more than five", () => {
    expect(parseRepullDays("0").problem).toBe('Re-pull days are whole numbers from 1 to 60: not "0".');
    expect(parseRepullDays("1, 61").problem).toMatch(/not "61"/);
    expect(parseRepullDays("1.5").problem).toMatch(/not "1.5"/);
    expect(parseRepullDays("-3").problem).toMatch(/not "-3"/);
    expect(parseRepullDays("seven").problem).toMatch(/not "seven"/);
    expect(parseRepullDays("1 2 3 4 5 6").problem).toBe("At most 5 re-pull days.");
  });
  it("read back as the list and the field show them", () => {
    expect(repullText(DEFAULT_REPULL_DAYS)).toBe("1, 7 and 28 days");
    expect(repullText([2, 14])).toBe("2 and 14 days");
    expect(repullText([1])).toBe("1 day");
    expect(repullText([3])).toBe("3 days");
    expect(repullText([])).toBe("none");
    expect(repullField(DEFAULT_REPULL_DAYS)).toBe("1, 7, 28");
    expect(parseRepullDays(repullField([2, 14])).days).toEqual([2, 14]);
  });
});

describe("a schedule", () => {
  const preset = { preset: "sp_campaigns", configuration: null, report: "sp_campaigns", repull_after_days: [1, 7, 28], enabled: true };
  // The API types a configuration as an opaque object.
  const custom = { ...preset, preset: null, configuration: {}, report: "custom-3f9a" };
  it("reads as its preset, or as its report's name for a configuration", () => {
    expect(scheduleReportLabel(preset)).toBe("Sponsored Products · campaigns");
    expect(scheduleReportLabel(custom)).toBe("custom-3f9a");
  });
  it("is replaced with what it makes kept and one thing changed", () => {
    expect(replacementBody(preset, { enabled: false })).toEqual({ preset: "sp_campaigns", repull_after_days: [1, 7, 28], enabled: false });
    expect(replacementBody(custom, { repull_after_days: [2] })).toEqual({
      configuration: {},
      repull_after_days: [2],
      enabled: true,
    });
  });
});

describe("a schedule's runs", () => {
  const now = Date.parse("2026-12-07T14:00:00Z");
  const at = (next: string, enabled = true) => ({ enabled, next_run_at: next });
  it("are due once their time has come, unless paused", () => {
    expect(isDue(at("2026-12-07T13:59:00Z"), now)).toBe(true);
    expect(isDue(at("2026-12-07T14:00:00Z"), now)).toBe(true);
    expect(isDue(at("2026-12-08T14:00:00Z"), now)).toBe(false);
    expect(isDue(at("2026-12-07T13:59:00Z", false), now)).toBe(false);
  });
  it("are looked for often only while one is due", () => {
    expect(schedulesPollMs([at("2026-12-08T14:00:00Z"), at("2026-12-07T13:00:00Z")], now)).toBe(15_000);
    expect(schedulesPollMs([at("2026-12-08T14:00:00Z"), at("2026-12-07T13:00:00Z", false)], now)).toBe(300_000);
    expect(schedulesPollMs([], now)).toBe(300_000);
  });
  it("are noticed between two readings of the list, a new schedule's first run included", () => {
    const never = { name: "daily", last_run_at: null };
    const ran = { name: "daily", last_run_at: "2026-12-07T14:00:00Z" };
    expect(ranSince([never], [never])).toBe(false);
    expect(ranSince([ran], [ran])).toBe(false);
    expect(ranSince([never], [ran])).toBe(true);
    expect(ranSince([ran], [{ ...ran, last_run_at: "2026-12-08T14:00:00Z" }])).toBe(true);
    expect(ranSince([], [ran])).toBe(true);
    expect(ranSince([ran], [])).toBe(false);
  });
});
