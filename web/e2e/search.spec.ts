import { expect, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, signIn, uniqueUser } from "./support";

test("accounts: search by name and by id, sort by name both ways, kept across a reload", async ({ page }) => {
  await signIn(page, uniqueUser("search"));
  // Dev Agency's Sponsored Ads: Agency Client 00–23 (profiles 3000000–
  // 3000023), Dev Agency Inc. and the seller it views, Linked 3000500.
  await connectAmazon(page, "Dev Agency");
  await nav(page, "Accounts").click();
  const total = page.getByTestId("account-total");
  const rows = page.locator("tbody tr");
  const search = page.getByLabel("Search");
  await expect(total).toHaveText("26 accounts");

  // By a part of the name, any case: the URL keeps it.
  await search.fill("client 07");
  await expect(total).toHaveText("1 account");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Agency Client 07");
  await expect(page).toHaveURL(/[?&]q=client(\+|%20)07/);
  await page.reload();
  await expect(search).toHaveValue("client 07");
  await expect(total).toHaveText("1 account");

  // By the start of a profile id: 3000010–3000019.
  await search.fill("300001");
  await expect(total).toHaveText("10 accounts");
  await expect(rows.first()).toContainText("Agency Client 10");
  await search.fill("3000012");
  await expect(total).toHaveText("1 account");
  await expect(rows.first()).toContainText("profile 3000012");
  await search.fill("no such account");
  await expect(page.getByText(/No accounts of this kind matching/)).toBeVisible();
  await search.fill("");
  await expect(total).toHaveText("26 accounts");

  // By name: A to Z by default, Z to A after a click, and back.
  const byName = page.getByRole("columnheader", { name: /Account/ });
  await expect(byName).toHaveAttribute("aria-sort", "ascending");
  await expect(rows.first()).toContainText("Agency Client 00");
  await byName.getByRole("button").click();
  await expect(byName).toHaveAttribute("aria-sort", "descending");
  await expect(page).toHaveURL(/[?&]sort=-name/);
  await expect(rows.first()).toContainText("Linked 3000500");
  await expect(rows.nth(1)).toContainText("Dev Agency Inc.");
  await expect(rows.nth(2)).toContainText("Agency Client 23");
  // The next page goes on in the same order.
  await page.getByRole("button", { name: "Next page" }).click();
  await expect(rows.last()).toContainText("Agency Client 00");
  // Back to A to Z: its own first page, never the other order's cursor.
  await page.goBack();
  await expect(byName).toHaveAttribute("aria-sort", "ascending");
  await expect(rows.first()).toContainText("Agency Client 00");
  await expect(page.getByRole("alert")).toHaveCount(0);
  await page.goForward();
  await expect(byName).toHaveAttribute("aria-sort", "descending");
  await page.reload();
  await expect(byName).toHaveAttribute("aria-sort", "descending");
  await expect(rows.first()).toContainText("Linked 3000500");
  await expectAccessible(page, "the accounts page, sorted");
  await byName.getByRole("button").click();
  await expect(byName).toHaveAttribute("aria-sort", "ascending");
  await expect(rows.first()).toContainText("Agency Client 00");
});

test("overview: a long e-mail stays inside its card, whole in its title", async ({ page }) => {
  // The local stack's users have the e-mail <user id>@example.test: the
  // longest id the dev sign-in takes (60 after user_) makes one of about 70.
  const user = uniqueUser(`longemail${"x".repeat(30)}`);
  await signIn(page, user);
  const email = page.getByTestId("profile-email");
  await expect(email).toHaveText(`${user}@example.test`);
  await expect(email).toHaveAttribute("title", `${user}@example.test`);
  const card = page.getByRole("region", { name: "Profile" });
  const [cardBox, emailBox] = [await card.boundingBox(), await email.boundingBox()];
  expect(cardBox && emailBox).toBeTruthy();
  expect(emailBox!.x + emailBox!.width).toBeLessThanOrEqual(cardBox!.x + cardBox!.width);
  // Cut with an ellipsis, not spilling out.
  expect(await email.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
  await expectAccessible(page, "the overview with a long e-mail");
});

test("settings: each checkbox sits on its label's line; the refresh interval says what it is for", async ({ page }) => {
  await signIn(page, uniqueUser("checks"));
  await nav(page, "Settings").click();
  const box = page.getByLabel("Show accounts whose connection needs re-authorization");
  const label = page.locator('label[for="show_expired_accounts"]');
  const [boxAt, labelAt] = [await box.boundingBox(), await label.boundingBox()];
  expect(boxAt && labelAt).toBeTruthy();
  // Side by side: the label starts right of the box, on the same line.
  expect(labelAt!.x).toBeGreaterThan(boxAt!.x + boxAt!.width);
  expect(Math.abs(labelAt!.y - boxAt!.y)).toBeLessThan(boxAt!.height);
  await expect(page.getByLabel(/Refresh interval/)).toHaveAccessibleDescription(/renews each Amazon token/);
});
