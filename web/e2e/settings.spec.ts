import { expect, test } from "@playwright/test";

import { expectAccessible, nav, screenshot, signIn, uniqueUser } from "./support";

test("settings: only changes are sent, a bad value is shown at its field, reset, and the theme applies", async ({ page }) => {
  await signIn(page, uniqueUser("settings"));
  await nav(page, "Settings").click();
  await expect(page.getByRole("button", { name: "Save changes" })).toBeDisabled();
  await expectAccessible(page, "the settings page");
  await screenshot(page, "settings");

  const sent: unknown[] = [];
  page.on("request", (request) => {
    if (request.method() === "PATCH") sent.push(request.postDataJSON());
  });
  await page.getByLabel("Theme").selectOption("dark");
  await page.getByLabel("Date format").selectOption("YYYY-MM-DD");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  expect(sent).toEqual([{ theme: "dark", date_format: "YYYY-MM-DD" }]);
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expect(page.locator("body")).toHaveCSS("background-color", "rgb(15, 23, 42)");
  await expectAccessible(page, "the settings page, dark");
  await screenshot(page, "settings-dark");

  // Out of range: the API's 400 names the field, shown beside it.
  await page.getByLabel("Items per page (5–100)").fill("500");
  await page.getByRole("button", { name: "Save changes" }).click();
  const field = page.locator(".field.has-error");
  await expect(field).toContainText("Items per page");
  await expect(page.getByLabel("Items per page (5–100)")).toHaveAttribute("aria-invalid", "true");

  await page.getByRole("button", { name: "Reset to defaults" }).click();
  await expect(page.getByLabel("Theme")).toHaveValue("system");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "system");
  // "system" follows the browser's preference, either way.
  await page.emulateMedia({ colorScheme: "light" });
  await expect(page.locator("body")).toHaveCSS("background-color", "rgb(255, 255, 255)");
  await page.emulateMedia({ colorScheme: "dark" });
  await expect(page.locator("body")).toHaveCSS("background-color", "rgb(15, 23, 42)");
  await expect(page.getByLabel("Items per page (5–100)")).toHaveValue("20");
});

test("keyboard: a skip link first, and shortcuts navigate when on", async ({ page }) => {
  await signIn(page, uniqueUser("keys"));
  await page.reload();
  await expect(nav(page, "Overview")).toBeVisible();
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  await page.keyboard.press("g");
  await page.keyboard.press("s");
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  // Off: the same keys do nothing.
  await page.getByLabel("Keyboard shortcuts (g then a page's letter)").uncheck();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await page.locator("main").focus();
  await page.keyboard.press("g");
  await page.keyboard.press("o");
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
});
