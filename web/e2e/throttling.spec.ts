import { expect, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, signIn, uniqueUser } from "./support";

const API_URL = process.env.API_URL ?? "";
const STUB_URL = process.env.AMAZON_STUB_URL ?? "http://127.0.0.1:3001";
const REPORT_MEDIA_TYPE = "application/vnd.createasyncreportrequest.v3+json";

test("accounts: Amazon's cooldown shows on the accounts it throttles, then goes", async ({ page }) => {
  const user = uniqueUser("throttled");
  await signIn(page, user);
  await connectAmazon(page);
  await nav(page, "Accounts").click();
  await expect(page.getByTestId("account-total")).toHaveText(/[1-9]\d* accounts?/);
  const badge = page.getByText("Throttled by Amazon");
  await expect(badge).toHaveCount(0);

  // Amazon throttles report creation: one admitted a minute, the others
  // 429 with Retry-After 8. A caller that will not wait gets Amazon's 429,
  // and the proxy records the cooldown on the report-creation family.
  const { token } = (await (await page.request.post(`${API_URL}/_dev/token`, { data: { user_id: user } })).json()) as {
    token: string;
  };
  const headers = { authorization: `Bearer ${token}` };
  const listed = await page.request.get(`${API_URL}/api/v1/accounts?kind=sponsored_ads&status=active`, { headers });
  const { accounts } = (await listed.json()) as { accounts: { account_id: string }[] };
  const report = (name: string) =>
    page.request.post(`${API_URL}/api/v1/accounts/${accounts[0]?.account_id}/ads/reporting/reports`, {
      headers: { ...headers, "content-type": REPORT_MEDIA_TYPE, "adsconnect-wait": "never" },
      data: JSON.stringify({ name, configuration: { adProduct: "SPONSORED_PRODUCTS" } }),
    });
  const throttle = { endpoint: "reports", every_seconds: 60, retry_after: 8 };
  expect((await page.request.post(`${STUB_URL}/_stub/throttle`, { data: throttle })).status()).toBe(204);
  try {
    expect((await report(`${user} 1`)).status()).toBe(200);
    const throttled = await report(`${user} 2`);
    expect(throttled.status()).toBe(429);
    expect(throttled.headers()["adsconnect-throttled-by"]).toBe("amazon");
  } finally {
    await page.request.delete(`${STUB_URL}/_stub/throttle`, { data: { endpoint: "reports" } });
  }

  // The filter the account passes fetches the list again; the cooldown comes with it.
  await page.getByLabel("Status").selectOption("active");
  await expect(badge.first()).toBeVisible({ timeout: 5_000 });
  await expect(page.getByRole("list", { name: "Throttled APIs" }).first()).toContainText(/reporting\S* calls wait until .* \(in \d s\)/);
  await expectAccessible(page, "a throttled account");
  // Its end passes: the badge goes by the clock, with no new fetch.
  await expect(badge).toHaveCount(0, { timeout: 12_000 });
});
