import { expect, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, screenshot, signIn, uniqueUser } from "./support";

test("accounts: tabs per kind, status filter, paging, the default, removal and DSP seats", async ({ page }) => {
  await signIn(page, uniqueUser("accounts"));
  // Dev Agency: 25 profiles and a seller its manager account links for
  // viewing, 45 DSP advertisers and 3 managed-service ones, 30 AMC instances.
  await connectAmazon(page, "Dev Agency");
  await nav(page, "Accounts").click();
  const tab = (name: RegExp) => page.getByRole("tab", { name });
  await expect(tab(/Sponsored Ads \(26\)/)).toHaveAttribute("aria-selected", "true");
  await expect(page.getByTestId("account-total")).toHaveText("26 accounts");
  // Pages of the user's items_per_page (20).
  const rows = page.locator("tbody tr");
  await expect(rows).toHaveCount(20);
  await page.getByRole("button", { name: "Next page" }).click();
  await expect(rows).toHaveCount(6);
  await page.getByRole("button", { name: "Previous page" }).click();
  await expect(rows).toHaveCount(20);
  await expectAccessible(page, "the accounts page");
  await screenshot(page, "accounts");

  // AMC: disabled (FAILED) instances are hidden unless filtered for.
  await tab(/AMC/).click();
  await expect(page.getByTestId("account-total")).toHaveText("24 accounts");
  await page.getByLabel("Status").selectOption("disabled");
  await expect(page.getByTestId("account-total")).toHaveText("6 accounts");
  await expect(rows.first()).toContainText("FAILED");

  // DSP: make one the default, remove another, open its seats.
  await tab(/DSP/).click();
  await page.getByLabel("Status").selectOption("");
  await expect(page.getByTestId("account-total")).toHaveText("48 accounts");
  const first = rows.first();
  await first.getByRole("button", { name: "Make default" }).click();
  await expect(first.getByText("Default")).toBeVisible();
  const second = rows.nth(1);
  const removed = (await second.locator("th .small").textContent()) ?? "";
  await second.getByRole("button", { name: "Remove", exact: true }).click();
  await second.getByRole("button", { name: /^Remove / }).click();
  await expect(page.getByTestId("account-total")).toHaveText("47 accounts");
  await expect(page.locator("tbody")).not.toContainText(removed);

  await first.getByRole("link", { name: "Seats" }).click();
  await expect(page.getByTestId("seats-taken")).toHaveText(/Not fetched yet/);
  await page.getByRole("button", { name: "Refresh from Amazon" }).click();
  await expect(page.getByTestId("seats-taken")).toHaveText(/seats on/);
  await expect(page.getByRole("button", { name: /Refresh again in|Refresh from Amazon/ })).toBeVisible();
  await page.getByRole("button", { name: "Refresh from Amazon" }).click();
  await expect(page.getByRole("button", { name: /Refresh again in \d+ s/ })).toBeDisabled();
  await expect(page.getByRole("cell", { name: "succeeded" })).toHaveCount(1);
  await expectAccessible(page, "the seats page");
  await screenshot(page, "seats");
});
