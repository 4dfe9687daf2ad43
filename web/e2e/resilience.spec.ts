import { expect, test } from "@playwright/test";

import { nav, signIn, uniqueUser } from "./support";

const api = () => `${process.env.API_URL}/api/v1/**`;

test("the API down: a clear message, and trying again works once it is back", async ({ page }) => {
  await signIn(page, uniqueUser("down"));
  await page.route(api(), (route) => route.abort("connectionrefused"));
  await nav(page, "Connections").click();
  await expect(page.getByRole("alert")).toContainText("The API could not be reached", { timeout: 20_000 });
  await page.unroute(api());
  await page.getByRole("button", { name: "Try again" }).click();
  await expect(page.getByText("No connections")).toBeVisible();
});

test("the API slow: skeletons while waiting, then the page", async ({ page }) => {
  await signIn(page, uniqueUser("slow"));
  await page.route(api(), async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await nav(page, "Accounts").click();
  await expect(page.getByRole("status", { name: "Loading accounts" })).toBeVisible();
  await expect(page.getByTestId("account-total")).toHaveText("0 accounts", { timeout: 20_000 });
});

test("a 503 shows the envelope's request id and its Retry-After", async ({ page }) => {
  await signIn(page, uniqueUser("unavailable"));
  await page.route(`${process.env.API_URL}/api/v1/connections`, (route) =>
    route.fulfill({
      status: 503,
      headers: { "retry-after": "3", "access-control-allow-origin": "*", "access-control-expose-headers": "retry-after" },
      json: { error: { code: "DEPENDENCY_UNAVAILABLE", message: "a dependency is unavailable; retry shortly", request_id: "req-e2e-503" } },
    }),
  );
  await nav(page, "Connections").click();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("req-e2e-503", { timeout: 20_000 });
  await expect(alert.getByRole("button", { name: /Try again in \d s/ })).toBeDisabled();
});
