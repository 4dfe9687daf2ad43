import { expect, test } from "@playwright/test";

import { expectAccessible, nav, screenshot, signIn, uniqueUser } from "./support";

test("signs in with the dev sign-in and out again", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Sign in (local stack)" })).toBeVisible();
  await expectAccessible(page, "the sign-in page");
  await screenshot(page, "sign-in");
  // A malformed id is refused in place.
  await page.getByLabel("Or type a user id").fill("bob");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText("A user id looks like")).toBeVisible();

  const user = uniqueUser("auth");
  await signIn(page, user);
  await expect(page.getByRole("heading", { name: /^Hello,/ })).toBeVisible();
  await expect(page.getByTestId("stats")).toContainText("Total");
  await expectAccessible(page, "the overview");
  await screenshot(page, "overview");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in (local stack)" })).toBeVisible();
});

test("a session the API no longer accepts goes back to sign-in", async ({ page }) => {
  await signIn(page, uniqueUser("expired"));
  // The stored session's token stops being one the authorizer accepts.
  await page.evaluate(() => {
    const key = "adsconnect.dev-session";
    const session = JSON.parse(sessionStorage.getItem(key) ?? "{}");
    sessionStorage.setItem(key, JSON.stringify({ ...session, token: "not.a.token" }));
  });
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign in (local stack)" })).toBeVisible();
  await expect(nav(page, "Connections")).toHaveCount(0);
});

test("the production configuration with Clerk unreachable shows the failure and no dev sign-in", async ({ page }) => {
  // The same build, configured for Clerk; its Frontend API host cannot be reached.
  const host = "clerk.unreachable.invalid$";
  await page.route("**/config.json", (route) =>
    route.fulfill({
      json: {
        apiBaseUrl: process.env.API_URL,
        authMode: "clerk",
        clerkPublishableKey: `pk_test_${Buffer.from(host).toString("base64")}`,
      },
    }),
  );
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Signing in is unavailable" })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByText("Sign in (local stack)")).toHaveCount(0);
  await expect(page.getByLabel("Or type a user id")).toHaveCount(0);
  await expectAccessible(page, "the sign-in failure");
});
