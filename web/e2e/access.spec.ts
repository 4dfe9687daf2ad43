import { expect, type Locator, type Page, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, screenshot, signIn, uniqueUser } from "./support";

// The dev agency login's manager accounts link a seller it may only view
// (outside its /v2/profiles) and three managed-service DSP advertisers
// (two in NA, one in the EU).
const VIEWER_SELLER = "Linked 3000500";
const MANAGED = ["Advertiser 6100000000001", "Advertiser 6100000000002", "Advertiser 6200000000001"];

/** The row of account `name` in the tab of `kind` (its `total` tells the
 * tab's list from the one shown while it loads): from its first page,
 * paging forward until it shows. */
async function rowOf(page: Page, kind: RegExp, total: string, name: string): Promise<Locator> {
  await page.getByRole("tab", { name: kind }).click();
  await expect(page.getByRole("button", { name: "Previous page" })).toBeDisabled();
  await expect(page.getByTestId("account-total")).toHaveText(total);
  const rows = page.locator("tbody tr");
  const row = rows.filter({ has: page.getByRole("link", { name, exact: true }) });
  const next = page.getByRole("button", { name: "Next page" });
  await expect(rows.first()).toBeVisible();
  while ((await row.count()) === 0 && (await next.isEnabled())) {
    const first = (await rows.first().textContent()) ?? "";
    await next.click();
    await expect(rows.first()).not.toHaveText(first);
  }
  await expect(row).toHaveCount(1);
  return row;
}

test("accounts: a Viewer's account is read-only and managed-service advertisers are marked, in the list and on their page", async ({
  page,
}) => {
  await signIn(page, uniqueUser("access"));
  await connectAmazon(page, "Dev Agency");
  await nav(page, "Accounts").click();

  // The seller linked for viewing: read-only, saying why.
  await expect(page.getByRole("tab", { name: /Sponsored Ads \(26\)/ })).toHaveAttribute("aria-selected", "true");
  const seller = await rowOf(page, /Sponsored Ads/, "26 accounts", VIEWER_SELLER);
  const readOnly = seller.getByText("Read-only", { exact: true });
  await expect(readOnly).toHaveAttribute("title", /read and report only.*Viewer/);
  await expect(seller.getByText("Managed service")).toHaveCount(0);
  await seller.getByRole("link", { name: VIEWER_SELLER }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(VIEWER_SELLER);
  await expect(page.getByRole("heading", { level: 1 }).getByText("Read-only")).toBeVisible();
  await expect(page.getByTestId("account-role")).toHaveText(/^Viewer/);
  await expectAccessible(page, "a read-only account");
  await screenshot(page, "account");

  // The managed-service advertisers: marked, read-only, named by their
  // advertiser id alone; one under an agency profile is neither.
  await page.getByRole("link", { name: /Sponsored Ads accounts/ }).click();
  await expect(page.getByRole("tab", { name: /DSP \(48\)/ })).toBeVisible();
  for (const name of MANAGED) {
    const row = await rowOf(page, /DSP/, "48 accounts", name);
    await expect(row.getByText("Managed service", { exact: true })).toHaveAttribute("title", /manager account.*managed service/);
    await expect(row.getByText("Read-only", { exact: true })).toBeVisible();
    await expect(row).toContainText("(through a manager account)");
    if (name === MANAGED[0]) {
      await row.getByRole("link", { name }).click();
      await expect(page.getByRole("heading", { level: 1 }).getByText("Managed service")).toBeVisible();
      await expect(page.getByTestId("account-facts")).toContainText("Reached through a manager account");
      await expect(page.getByRole("link", { name: "DSP seats" })).toBeVisible();
      await expectAccessible(page, "a managed-service advertiser");
      await page.getByRole("link", { name: /DSP advertiser accounts/ }).click();
    }
  }
  const agencyListed = page.locator("tbody tr").filter({ hasText: "agency profile" }).first();
  await expect(agencyListed.getByText("Managed service")).toHaveCount(0);
  await expect(agencyListed.getByText("Read-only")).toHaveCount(0);
});
