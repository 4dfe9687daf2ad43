// Shared steps of the browser suite.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

let counter = 0;

/** A user id no other test uses (the dev sign-in takes any). */
export function uniqueUser(label: string): string {
  counter += 1;
  return `user_e2e${label}${Date.now().toString(36)}${counter}`;
}

/** An organization id no other test uses (the dev sign-in takes any). */
export function uniqueOrg(label: string): string {
  counter += 1;
  return `org_e2e${label}${Date.now().toString(36)}${counter}`;
}

/** The slug the dev sign-in gives an organization (its id without `org_`). */
export function slugOf(orgId: string): string {
  return orgId.replace(/^org_/, "").toLowerCase();
}

/** A page's link in the main navigation. */
export function nav(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
}

/** Signs in with the dev sign-in, in `organization`'s workspace when given. */
export async function signIn(
  page: Page,
  userId: string,
  organization?: { id: string; role: "admin" | "member" },
): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Or type a user id").fill(userId);
  if (organization) {
    await page.getByLabel("Organization id").fill(organization.id);
    await page.getByLabel("Role in the organization").selectOption(organization.role);
  }
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("user-id")).toHaveText(userId);
  await expect(page.getByTestId("workspace")).toHaveText(
    organization ? `${slugOf(organization.id)} · ${organization.role}` : "Personal workspace",
  );
}

/** Connects an Amazon login through the stand-in's consent page. */
export async function connectAmazon(page: Page, login = "Dev Seller"): Promise<void> {
  await nav(page, "Connect Amazon").click();
  await page.getByLabel(/North America/).check();
  await page.getByRole("button", { name: "Continue to Amazon" }).click();
  await page.getByRole("link", { name: new RegExp(`Continue as ${login}`) }).click();
  await expect(page.getByRole("heading", { name: "Amazon connected" })).toBeVisible({ timeout: 30_000 });
}

/** No serious or critical accessibility violation on the page as it is. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const blocking = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(blocking, `accessibility of ${what}`).toEqual([]);
}

/** Saves a screenshot of the page (the README shows current ones). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR ?? "test-results/screenshots";
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}
