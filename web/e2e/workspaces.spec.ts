import { expect, type Locator, type Page, test } from "@playwright/test";

import { connectAmazon, expectAccessible, nav, screenshot, signIn, slugOf, uniqueOrg, uniqueUser } from "./support";

/** The one connection card of the Dev Seller login on the Connections page. */
function sellerCard(page: Page) {
  return page.getByRole("article", { name: "Connection Dev Seller" });
}

/** The audit trail's events that `who` made. */
function actedBy(card: Locator, who: string) {
  return card.getByTestId("event-actor").filter({ hasText: new RegExp(`^${who.replace(/[()]/g, "\\$&")}$`) });
}

/** The number of Sponsored Ads accounts the Accounts page lists. */
async function accountTotal(page: Page): Promise<string> {
  await nav(page, "Accounts").click();
  const total = page.getByTestId("account-total");
  await expect(total).toBeVisible();
  return (await total.textContent()) ?? "";
}

test("workspaces: an organization's admin connects Amazon, a member sees it with what they may not do disabled, and the personal workspace shows none of it", async ({
  page,
}) => {
  const org = uniqueOrg("agency");
  const slug = slugOf(org);
  const admin = uniqueUser("orgadmin");
  const member = uniqueUser("orgmember");

  // The admin connects Amazon in the organization's workspace.
  await signIn(page, admin, { id: org, role: "admin" });
  await connectAmazon(page);
  await nav(page, "Connections").click();
  const adminCard = sellerCard(page);
  await expect(adminCard).toBeVisible();
  const connectionId = (await adminCard.getByTestId("connection-id").textContent()) ?? "";
  await expect(adminCard.getByRole("button", { name: "Sync now" })).toBeEnabled();
  await expect(adminCard.getByTestId("denied")).toHaveCount(0);
  await adminCard.locator("summary", { hasText: "Audit trail" }).click();
  await expect(actedBy(adminCard, `${admin} (you)`).first()).toBeVisible();
  const total = await accountTotal(page);
  expect(total).toMatch(/^[1-9]\d* accounts?$/);
  await page.getByRole("button", { name: "Sign out" }).click();

  // A member of the same organization sees the same connection and
  // accounts; what their role does not allow is disabled, saying why.
  await signIn(page, member, { id: org, role: "member" });
  await nav(page, "Connections").click();
  const card = sellerCard(page);
  await expect(card.getByTestId("connection-id")).toHaveText(connectionId);
  for (const name of ["Re-authorize", "Sync now", "Disconnect"]) {
    await expect(card.getByRole("button", { name })).toBeDisabled();
  }
  await expect(card.getByText(`Your role in ${slug} (member) does not allow connecting Amazon logins.`)).toBeVisible();
  await expect(
    card.getByText(`Your role in ${slug} (member) does not allow managing connections and accounts.`),
  ).toBeVisible();
  await expect(card.getByRole("button", { name: "Sync now" })).toHaveAccessibleDescription(/does not allow managing/);
  // The audit trail names who connected it.
  await card.locator("summary", { hasText: "Audit trail" }).click();
  await expect(actedBy(card, admin).first()).toBeVisible();
  await expectAccessible(page, "an organization's connections as a member");
  await screenshot(page, "connections-member");

  expect(await accountTotal(page)).toBe(total);
  await expect(page.getByRole("button", { name: "Remove", exact: true }).first()).toBeDisabled();
  await expect(page.getByTestId("denied")).toHaveText(/does not allow managing connections and accounts/);
  await expectAccessible(page, "an organization's accounts as a member");

  await nav(page, "Connect Amazon").click();
  await expect(page.getByRole("button", { name: "Continue to Amazon" })).toBeDisabled();
  await expect(page.getByTestId("denied")).toHaveText(`Your role in ${slug} (member) does not allow connecting Amazon logins.`);

  // The member's personal workspace holds none of the organization's.
  await nav(page, "Connections").click();
  await expect(card).toBeVisible();
  await page.getByLabel("Switch workspace").selectOption("personal");
  await expect(page.getByTestId("workspace")).toHaveText("Personal workspace");
  await expect(page.getByRole("heading", { name: "No connections" })).toBeVisible();
  await expect(page.getByRole("article")).toHaveCount(0);
  expect(await accountTotal(page)).toBe("0 accounts");
  await nav(page, "Connect Amazon").click();
  await expect(page.getByRole("button", { name: "Continue to Amazon" })).toBeEnabled();
  await expect(page.getByTestId("denied")).toHaveCount(0);

  // And back: the organization's connection again, still read-only.
  await page.getByLabel("Switch workspace").selectOption("organization");
  await expect(page.getByTestId("workspace")).toHaveText(`${slug} · member`);
  await nav(page, "Connections").click();
  await expect(sellerCard(page).getByTestId("connection-id")).toHaveText(connectionId);
  await expect(sellerCard(page).getByRole("button", { name: "Disconnect" })).toBeDisabled();
});
