import { describe, expect, it } from "vitest";

import {
  addDays,
  completedReports,
  dailySeries,
  defaultRange,
  formatDay,
  formatMetric,
  presetsFor,
  rangeProblem,
  todayIn,
  waitedSeconds,
  waitedText,
  type ReportJob,
} from "../src/lib/reports";

const totals = (spend: number) => ({ impressions: spend * 100, clicks: spend * 2, spend, sales: spend * 3 });

function job(id: string, createdAt: string, report: string, days: [string, number][], status: ReportJob["status"] = "completed"): ReportJob {
  return {
    job_id: id,
    account_id: "acc_1",
    status,
    report,
    configuration: {},
    start_date: days[0]?.[0] ?? "2026-11-01",
    end_date: days[days.length - 1]?.[0] ?? "2026-11-01",
    created_at: createdAt,
    updated_at: createdAt,
    waited_seconds: 60,
    amazon_report_ids: [],
    parts: [],
    rows: days.length,
    totals: totals(0),
    files: days.map(([date, spend]) => ({ date, rows: 1, totals: totals(spend), url: `https://x/${date}`, expires_at: createdAt })),
  };
}

describe("the presets an account may ask for", () => {
  it("are those of its kind", () => {
    expect(presetsFor("sponsored_ads").map((p) => p.name)).toEqual([
      "sp_campaigns",
      "sp_ad_groups",
      "sp_targeting",
      "sp_search_terms",
      "sp_advertised_products",
      "sb_campaigns",
      "sd_campaigns",
    ]);
    expect(presetsFor("dsp_advertiser").map((p) => p.name)).toEqual(["dsp_campaigns"]);
    expect(presetsFor("amc_instance")).toEqual([]);
  });
});

describe("the range", () => {
  it("is today where the account is, UTC when its zone is unknown", () => {
    const now = Date.parse("2026-12-07T03:00:00Z");
    expect(todayIn("America/Los_Angeles", now)).toBe("2026-12-06");
    expect(todayIn("Asia/Tokyo", now)).toBe("2026-12-07");
    expect(todayIn(null, now)).toBe("2026-12-07");
    expect(todayIn("Not/AZone", now)).toBe("2026-12-07");
  });
  it("defaults to the last seven complete days, across months and years", () => {
    expect(defaultRange("2026-12-06")).toEqual({ start: "2026-11-29", end: "2026-12-05" });
    expect(defaultRange("2027-01-03")).toEqual({ start: "2026-12-27", end: "2027-01-02" });
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
  });
  it("refuses an end after today, a start after the end, and missing dates", () => {
    expect(rangeProblem("2026-11-29", "2026-12-05", "2026-12-06")).toBeNull();
    expect(rangeProblem("2026-12-06", "2026-12-06", "2026-12-06")).toBeNull();
    expect(rangeProblem("2026-12-01", "2026-12-07", "2026-12-06")).toMatch(/after today/);
    expect(rangeProblem("2026-12-05", "2026-12-01", "2026-12-06")).toMatch(/start date cannot be after the end/);
    expect(rangeProblem("", "2026-12-01", "2026-12-06")).toMatch(/Choose/);
  });
});

describe("the time waited", () => {
  const created = "2026-12-07T03:00:00Z";
  it("counts on by the clock while running, and is the API's once finished", () => {
    const now = Date.parse("2026-12-07T03:03:10Z");
    expect(waitedSeconds({ status: "generating", created_at: created, waited_seconds: 60 }, now)).toBe(190);
    expect(waitedSeconds({ status: "completed", created_at: created, waited_seconds: 60 }, now)).toBe(60);
  });
  it("reads in seconds, minutes, then hours", () => {
    expect(waitedText(12)).toBe("waited 12 s");
    expect(waitedText(190)).toBe("waited 3 min");
    expect(waitedText(7500)).toBe("waited 2 h 05 min");
  });
});

describe("the chart's days", () => {
  it("sum by date across completed jobs of one report, the newest job's numbers for a restated day", () => {
    const older = job("rep_old", "2026-12-01T00:00:00Z", "sp_campaigns", [
      ["2026-11-28", 1],
      ["2026-11-29", 2],
      ["2026-11-30", 3],
    ]);
    const newer = job("rep_new", "2026-12-05T00:00:00Z", "sp_campaigns", [
      ["2026-11-30", 30],
      ["2026-12-01", 4],
    ]);
    const other = job("rep_sb", "2026-12-06T00:00:00Z", "sb_campaigns", [["2026-11-30", 99]]);
    const running = job("rep_run", "2026-12-07T00:00:00Z", "sp_campaigns", [["2026-11-30", 77]], "generating");
    const days = dailySeries([older, running, newer, other], "sp_campaigns");
    expect(days.map((d) => [d.date, d.totals.spend, d.restated, d.jobId])).toEqual([
      ["2026-11-28", 1, false, "rep_old"],
      ["2026-11-29", 2, false, "rep_old"],
      ["2026-11-30", 30, true, "rep_new"],
      ["2026-12-01", 4, false, "rep_new"],
    ]);
    expect(completedReports([running, newer, other, older])).toEqual(["sp_campaigns", "sb_campaigns"]);
  });
});

describe("formats", () => {
  it("write days and metrics as the user reads them", () => {
    expect(formatDay("2026-11-30", "MM/DD/YYYY")).toBe("11/30/2026");
    expect(formatDay("2026-11-30", "DD/MM/YYYY")).toBe("30/11/2026");
    expect(formatDay("2026-11-30", "YYYY-MM-DD")).toBe("2026-11-30");
    expect(formatMetric(1234.5, true, "USD")).toBe("$1,234.50");
    expect(formatMetric(1234.5, true, null)).toBe("1,234.50");
    expect(formatMetric(1234.5, true, "??")).toBe("1,234.50");
    expect(formatMetric(12345, false, "USD")).toBe("12,345");
  });
});
