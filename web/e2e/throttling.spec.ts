import { expect, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, signIn, uniqueUser } from "./support";

const API_URL = process.env.API_URL ?? "";
const REPORT_MEDIA_TYPE = "application/vnd.createasyncreportrequest.v3+json";

test("accounts: Amazon's cooldown shows on the accounts it throttles, then goes", async ({ page }) => {
  const user = uniqueUser("throttled");
  await signIn(page, user);
  await connectAmazon(page);
  await nav(page, "Accounts").click();
  await expect(page.getByTestId("account-total")).toHaveText(/[1-9]\d* accounts?/);
  const badge = page.getByText("Throttled by Amazon");
  await expect(badge).toHaveCount(0);

  // A report new to the stand-in requested twice: Amazon's 425 records a
  // cooldown (2 s, the first back-off step) on the report-creation family.
  const { token } = (await (await page.request.post(`${API_URL}/_dev/token`, { data: { user_id: user } })).json()) as {
    token: string;
  };
  const headers = { authorization: `Bearer ${token}` };
  const listed = await page.request.get(`${API_URL}/api/v1/accounts?kind=sponsored_ads&status=active`, { headers });
  const { accounts } = (await listed.json()) as { accounts: { account_id: string }[] };
  const report = () =>
    page.request.post(`${API_URL}/api/v1/accounts/${accounts[0]?.account_id}/ads/reporting/reports`, {
      headers: { ...headers, "content-type": REPORT_MEDIA_TYPE },
      data: JSON.stringify({ name: user, configuration: { adProduct: "SPONSORED_PRODUCTS" } }),
    });
  expect((await report()).status()).toBe(200);
  expect((await report()).status()).toBe(425);

  // The filter the account passes fetches the list again; the cooldown comes with it.
  await page.getByLabel("Status").selectOption("active");
  await expect(badge.first()).toBeVisible({ timeout: 2_000 });
  await expect(page.getByRole("list", { name: "Throttled APIs" }).first()).toContainText(/reporting\S* calls wait until .* \(in \d s\)/);
  await expectAccessible(page, "a throttled account");
  // Its end passes: the badge goes by the clock, with no new fetch.
  await expect(badge).toHaveCount(0, { timeout: 5_000 });
});
