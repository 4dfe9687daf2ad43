import { expect, type Page, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, screenshot, signIn, uniqueUser } from "./support";

const STUB_URL = process.env.AMAZON_STUB_URL ?? "http://127.0.0.1:3001";
/** The stand-in's reporting as it starts (reports_control.rs). */
const STAND_IN_DEFAULTS = { polls_before_completion: 2, fail_next: 0 };

async function standIn(page: Page, knobs: Record<string, unknown>): Promise<void> {
  expect((await page.request.post(`${STUB_URL}/_stub/reports`, { data: knobs })).status()).toBe(200);
}

/** Signs in a new user, connects Dev Seller and opens the reports of its
 * Sponsored Ads account named `account` (else the first listed) from the
 * account's page. */
async function openReports(page: Page, label: string, account?: string): Promise<void> {
  await signIn(page, uniqueUser(label));
  await connectAmazon(page);
  await nav(page, "Accounts").click();
  const rows = page.locator("tbody tr");
  await (account ? rows.filter({ hasText: account }) : rows).first().locator("th a").first().click();
  await page.getByRole("link", { name: "Reports", exact: true }).click();
  await expect(page.getByRole("heading", { name: /^Reports of / })).toBeVisible();
  await expect(page.getByText("No reports asked for yet.")).toBeVisible();
}

/** Dev Seller's store whose day is between its schedules' run time (06:00)
 * and 23:00 now, so a schedule added to it is due at once and stays so
 * until the next run: Los Angeles and Paris are nine hours apart, so one
 * of them always is. */
function storePastItsRunTime(now = new Date()): string {
  const hourIn = (timeZone: string) =>
    Number(new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", hourCycle: "h23" }).format(now));
  const inRunHours = (hour: number) => hour >= 6 && hour < 23;
  return inRunHours(hourIn("America/Los_Angeles")) ? "Dev Store US" : "Dev Store DE";
}

/** The newest job's row (the history is newest first). */
const newestJob = (page: Page) => page.getByTestId("report-job").first();

/** `YYYY-MM-DD` `days` before `day`. */
function before(day: string, days: number): string {
  const at = new Date(`${day}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() - days);
  return at.toISOString().slice(0, 10);
}

/** Today where the account is, as the form takes it (its dates' `max`). */
async function accountToday(page: Page): Promise<string> {
  return (await page.getByLabel("From").getAttribute("max")) ?? "";
}

test.afterEach(async ({ page }) => {
  await standIn(page, STAND_IN_DEFAULTS);
});

test("reports: a preset goes queued → generating → completed, its stored days downloadable and charted", async ({ page }) => {
  test.setTimeout(120_000);
  await openReports(page, "reports");
  // Only the presets of a Sponsored Ads account, the last 7 complete days.
  const presets = page.getByLabel("Report", { exact: true }).first().locator("option");
  await expect(presets).toHaveCount(7);
  await expect(presets.filter({ hasText: "DSP" })).toHaveCount(0);
  const today = await accountToday(page);
  await expect(page.getByText(`today there is ${today}`)).toBeVisible();
  await expect(page.getByLabel("From")).toHaveValue(before(today, 7));
  await expect(page.getByLabel("To (inclusive)")).toHaveValue(before(today, 1));

  await standIn(page, { polls_before_completion: 1 });
  await page.getByRole("button", { name: "Request report" }).click();
  const job = newestJob(page);
  await expect(job.getByTestId("job-status")).toHaveText(/Queued|Generating/);
  await expect(job.getByTestId("job-waited")).toHaveText(/^waited \d+ s…$/);
  await expect(job.getByTestId("job-status")).toHaveText("Completed", { timeout: 60_000 });
  await expect(job.getByTestId("job-rows")).toHaveText(/^[1-9][\d,]*$/);
  await expect(job.getByTestId("job-waited")).toHaveText(/^waited \d+ (s|min)$/);

  // Opening the files fetches fresh links: one per stored day, each answering.
  await job.getByText("7 stored days").click();
  const files = job.getByTestId("report-file");
  await expect(files).toHaveCount(7);
  await expect(files.first()).toHaveAttribute("target", "_blank");
  const href = (await files.first().getAttribute("href")) ?? "";
  const download = await page.request.get(href);
  expect(download.status()).toBe(200);
  expect((await download.body()).length).toBeGreaterThan(0);

  // The chart: seven days of spend, then clicks; none restated yet.
  const chart = page.getByRole("img", { name: /per day over 7 stored days/ });
  await expect(chart).toHaveAccessibleName(/^Spend per day over 7 stored days.*; 0 days restated\.$/);
  await page.getByLabel("Metric", { exact: true }).selectOption("clicks");
  await expect(page.getByTestId("report-chart")).toHaveAccessibleName(/^Clicks per day over 7 stored days/);
  await expect(page.locator(".chart-bar")).toHaveCount(7);
  await expectAccessible(page, "the reports page");
});

test("reports: a later pull marks restated days, a failing report says why, a bad range is refused", async ({ page }) => {
  test.setTimeout(120_000);
  await openReports(page, "restated");
  const today = await accountToday(page);
  await standIn(page, { polls_before_completion: 0 });
  const request = page.getByRole("button", { name: "Request report" });
  await request.click();
  await expect(newestJob(page).getByTestId("job-status")).toHaveText("Completed", { timeout: 60_000 });

  // The last three of those days again: Amazon's restatement, the newest numbers shown.
  await page.getByLabel("From").fill(before(today, 3));
  await request.click();
  await expect(page.getByTestId("report-job")).toHaveCount(2);
  await expect(newestJob(page).getByTestId("job-status")).toHaveText("Completed", { timeout: 60_000 });
  await expect(page.getByTestId("report-chart")).toHaveAccessibleName(/over 7 stored days.*; 3 days restated\.$/);
  await expect(page.locator(".chart-restated")).toHaveCount(3);
  await expect(page.getByText("restated: a later pull changed it")).toBeVisible();

  // Amazon fails the next report: its reason shows.
  await standIn(page, { fail_next: 1, failure_reason: "Report generation failed at Amazon" });
  await page.getByLabel("Report", { exact: true }).first().selectOption("sp_targeting");
  await request.click();
  await expect(page.getByTestId("report-job")).toHaveCount(3);
  await expect(newestJob(page).getByTestId("job-status")).toHaveText("Failed", { timeout: 60_000 });
  await expect(newestJob(page).getByTestId("job-failure")).toContainText("Report generation failed at Amazon");
  await screenshot(page, "reports");

  // Ranges the form refuses, and one the API refuses (older than Amazon keeps).
  await page.getByLabel("From").fill(before(today, 2));
  await page.getByLabel("To (inclusive)").fill(before(today, 4));
  await request.click();
  await expect(page.getByTestId("range-problem")).toHaveText("The start date cannot be after the end date.");
  await page.getByLabel("To (inclusive)").fill(before(today, -2));
  await request.click();
  await expect(page.getByTestId("range-problem")).toHaveText(/cannot be after today/);
  await page.getByLabel("From").fill(before(today, 200));
  await page.getByLabel("To (inclusive)").fill(before(today, 190));
  await request.click();
  await expect(page.getByRole("alert")).toContainText("RANGE_BEYOND_RETENTION");
  await expect(page.getByTestId("report-job")).toHaveCount(3);
  await expectAccessible(page, "the reports page with a failure");
});

test("reports: a schedule is added, runs (its jobs in the history), is paused, its re-pulls changed and deleted", async ({ page }) => {
  // The dev stack runs due schedules each minute (hourly on AWS).
  test.setTimeout(180_000);
  await openReports(page, "schedules", storePastItsRunTime());
  const section = page.getByRole("region", { name: "Schedules" });
  await expect(section.getByText("No schedules yet.")).toBeVisible();
  await expect(section.getByText(/runs every morning after 06:00 in the account's time zone/)).toBeVisible();
  const add = section.getByRole("button", { name: "Add schedule" });
  const problems = section.getByTestId("schedule-problem");

  // What the API would refuse is refused in the form.
  await section.getByLabel("Name").fill("Daily Campaigns");
  await section.getByLabel("Re-pull after (days)").fill("1, 7, 61");
  await add.click();
  await expect(problems).toHaveText([
    "A name is 1 to 64 lowercase letters, digits, - or _.",
    'Re-pull days are whole numbers from 1 to 60: not "61".',
  ]);
  await expect(section.getByLabel("Name")).toHaveAccessibleDescription(/lowercase letters/);

  // The defaults: the account's first preset, re-pulled after 1, 7 and 28 days, enabled.
  await section.getByLabel("Name").fill("daily-campaigns");
  await section.getByLabel("Re-pull after (days)").fill("1, 7, 28");
  await expect(section.getByLabel("Enabled", { exact: true })).toBeChecked();
  await add.click();
  const row = section.getByTestId("schedule");
  await expect(row).toHaveCount(1);
  await expect(problems).toHaveCount(0);
  await expect(row.getByRole("rowheader")).toContainText("daily-campaigns");
  await expect(row).toContainText("Sponsored Products · campaigns");
  await expect(row.getByTestId("schedule-repulls")).toHaveText("1, 7 and 28 days");
  await expect(section.getByLabel("Name")).toHaveValue("");
  // Its time today has passed: it runs at the next run of the schedules,
  // asking for yesterday and the re-pulled days; their jobs join the history.
  const lastRun = row.getByRole("cell").nth(4);
  await expect(lastRun).toContainText("never");
  await expect(row.getByTestId("schedule-next")).toHaveText("due: runs within the hour");
  await expect(lastRun).toContainText(/\d+ jobs? started/, { timeout: 100_000 });
  const started = Number(/(\d+) jobs? started/.exec((await lastRun.textContent()) ?? "")?.[1]);
  expect(started).toBeGreaterThan(0);
  await expect(page.getByTestId("report-job")).toHaveCount(started);
  await expect(newestJob(page)).toContainText("Sponsored Products · campaigns");
  await expect(row.getByTestId("schedule-next")).toContainText(/in \d+ (s|min|h)/);
  await expectAccessible(page, "the reports page with a schedule");
  await screenshot(page, "reports-schedules");

  // The same name again would replace it: refused, the list says where it is.
  await section.getByLabel("Name").fill("daily-campaigns");
  await add.click();
  await expect(problems).toHaveText("A schedule named daily-campaigns exists: change it in the list.");

  // Paused, and still paused after a reload (it is the API's).
  const enabled = section.getByLabel("daily-campaigns enabled");
  await expect(enabled).toBeChecked();
  const saved = page.waitForResponse((r) => r.request().method() === "PUT" && r.url().endsWith("/report-schedules/daily-campaigns"));
  await enabled.uncheck();
  await expect(row.getByTestId("schedule-next")).toHaveText("paused");
  // The switch moves at once; the reload waits for the API's answer.
  expect((await saved).status()).toBe(200);
  await page.reload();
  await expect(enabled).not.toBeChecked();

  // Re-pull days changed in place: refused first, then saved.
  await row.getByRole("button", { name: "Change re-pulls" }).click();
  const days = row.getByLabel("Re-pull after (days)");
  await expect(days).toHaveValue("1, 7, 28");
  await days.fill("0, 14");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row.getByRole("alert")).toHaveText('Re-pull days are whole numbers from 1 to 60: not "0".');
  await days.fill("14 2");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row.getByTestId("schedule-repulls")).toHaveText("2 and 14 days");
  await expect(enabled).not.toBeChecked();

  // The API's refusal shows with its code and request id (the limit, answered here for one request).
  await page.route(
    "**/report-schedules/weekly",
    (route) =>
      route.fulfill({
        status: 422,
        json: { error: { code: "REPORT_SCHEDULE_LIMIT", message: "The account has 20 schedules already.", request_id: "req_e2e" } },
      }),
    { times: 1 },
  );
  await section.getByLabel("Name").fill("weekly");
  await add.click();
  await expect(section.getByRole("alert")).toContainText("The account has 20 schedules already.");
  await expect(section.getByRole("alert")).toContainText("HTTP 422 · REPORT_SCHEDULE_LIMIT · request id req_e2e");
  await expect(row).toHaveCount(1);

  // Deleted after a confirmation; keeping it first changes nothing.
  await row.getByRole("button", { name: "Delete", exact: true }).click();
  await row.getByRole("button", { name: "Keep" }).click();
  await row.getByRole("button", { name: "Delete", exact: true }).click();
  await row.getByRole("button", { name: "Delete daily-campaigns" }).click();
  await expect(section.getByText("No schedules yet.")).toBeVisible();
  await page.reload();
  await expect(section.getByText("No schedules yet.")).toBeVisible();
});

test("reports: without the use permission the request form and the schedules' controls are disabled, saying why", async ({ page }) => {
  await openReports(page, "readonly");
  const schedules = page.getByRole("region", { name: "Schedules" });
  await schedules.getByLabel("Name").fill("nightly");
  // Paused, so no run adds jobs to the history while this test looks at it.
  await schedules.getByLabel("Enabled", { exact: true }).uncheck();
  await schedules.getByRole("button", { name: "Add schedule" }).click();
  await expect(schedules.getByTestId("schedule")).toHaveCount(1);
  // A workspace whose role grants only `read` (the session as the API would answer it).
  await page.route("**/api/v1/users/session", async (route) => {
    const response = await route.fetch();
    const session = (await response.json()) as Record<string, unknown>;
    await route.fulfill({
      response,
      json: { ...session, organization: { id: "org_viewers", slug: "viewers", role: "viewer" }, permissions: ["read"] },
    });
  });
  await page.reload();
  const request = page.getByRole("button", { name: "Request report" });
  await expect(request).toBeDisabled();
  await expect(request).toHaveAccessibleDescription("Your role in viewers (viewer) does not allow using the Amazon Ads API.");
  await expect(page.getByText("No reports asked for yet.")).toBeVisible();
  // The schedules are listed, none of them can be changed.
  const row = schedules.getByTestId("schedule");
  await expect(row.getByTestId("schedule-repulls")).toHaveText("1, 7 and 28 days");
  await expect(row.getByTestId("schedule-next")).toHaveText("paused");
  for (const control of [
    schedules.getByRole("button", { name: "Add schedule" }),
    schedules.getByLabel("nightly enabled"),
    row.getByRole("button", { name: "Change re-pulls" }),
    row.getByRole("button", { name: "Delete", exact: true }),
  ]) {
    await expect(control).toBeDisabled();
    await expect(control).toHaveAccessibleDescription("Your role in viewers (viewer) does not allow using the Amazon Ads API.");
  }
});
