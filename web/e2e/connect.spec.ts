import { expect, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, screenshot, signIn, uniqueUser } from "./support";

test("connects Amazon end to end, re-authorizes in place, syncs then waits, disconnects", async ({ page }) => {
  await signIn(page, uniqueUser("connect"));
  await nav(page, "Connect Amazon").click();
  await expectAccessible(page, "the connect page");
  await screenshot(page, "connect");
  await connectAmazon(page);
  await expect(page.getByText(/18 accounts/)).toBeVisible();
  // The completion was read once and is no longer in the address bar.
  expect(page.url()).toContain("amazon=authorized");
  expect(page.url()).not.toContain("completion=");

  await nav(page, "Connections").click();
  const card = page.getByRole("article", { name: /Connection Dev Seller/ });
  await expect(card.getByText("Healthy")).toBeVisible();
  await expect(card.getByText(/expires in \d+ min/)).toBeVisible();
  const id = await card.getByTestId("connection-id").textContent();
  await expectAccessible(page, "the connections page");
  await screenshot(page, "connections");

  // Re-authorizing keeps the connection (same id).
  await card.getByRole("button", { name: "Re-authorize" }).click();
  await page.getByRole("link", { name: /Continue as Dev Seller/ }).click();
  await expect(page.getByRole("heading", { name: "Amazon connected" })).toBeVisible({ timeout: 30_000 });
  await nav(page, "Connections").click();
  await expect(page.getByTestId("connection-id")).toHaveCount(1);
  await expect(page.getByTestId("connection-id")).toHaveText(id ?? "");

  // One sync a minute: the second waits, counting down from Retry-After.
  await card.getByRole("button", { name: "Sync now" }).click();
  await expect(card.getByRole("button", { name: "Sync now" })).toBeEnabled({ timeout: 30_000 });
  await card.getByRole("button", { name: "Sync now" }).click();
  const waiting = card.getByRole("button", { name: /Sync again in \d+ s/ });
  await expect(waiting).toBeDisabled();
  const first = Number((await waiting.textContent())?.match(/\d+/)?.[0]);
  await page.waitForTimeout(2100);
  const later = Number((await card.getByRole("button", { name: /Sync again in/ }).textContent())?.match(/\d+/)?.[0]);
  expect(later).toBeLessThan(first);

  // The audit trail, then disconnecting: what is destroyed is said first.
  await card.locator("summary", { hasText: "Audit trail" }).click();
  await expect(card.getByRole("cell", { name: "reauthorized" })).toBeVisible();
  await card.getByRole("button", { name: "Disconnect" }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("access and refresh tokens");
  await expect(dialog.getByRole("link", { name: /Login with Amazon/ })).toHaveAttribute("href", "https://www.amazon.com/ap/adam");
  await expectAccessible(page, "the disconnect confirmation");
  await dialog.getByRole("button", { name: "Disconnect and destroy tokens" }).click();
  await expect(page.getByText(/^Disconnected\. Destroyed:/)).toBeVisible();
  await expect(page.getByRole("article")).toHaveCount(0);
});

test("a refused consent is explained and connects nothing", async ({ page }) => {
  await signIn(page, uniqueUser("refused"));
  await nav(page, "Connect Amazon").click();
  await page.getByRole("button", { name: "Continue to Amazon" }).click();
  await page.getByRole("link", { name: /Cancel/ }).click();
  await expect(page.getByRole("heading", { name: "Amazon was not connected" })).toBeVisible();
  await expect(page.getByTestId("reason")).toHaveText(/did not allow AdsConnect/);
  await expectAccessible(page, "a refused consent");
  await nav(page, "Connections").click();
  await expect(page.getByText("No connections")).toBeVisible();
});
