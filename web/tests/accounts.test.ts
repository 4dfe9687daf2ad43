import { describe, expect, it } from "vitest";

import { accessBadges, isManagedService, roleText, sortOf, sortToggled } from "../src/lib/accounts";
import { sourceText, syncWarningText } from "../src/lib/syncWarnings";

describe("what the login may do with an account", () => {
  it("marks a Viewer's account read-only, explaining why", () => {
    const [badge, ...rest] = accessBadges({ kind: "sponsored_ads", profile_id: "1", role: "viewer" });
    expect(rest).toEqual([]);
    expect(badge).toMatchObject({ label: "Read-only", tone: "info" });
    expect(badge?.hint).toMatch(/read and report only.*Viewer/);
  });
  it("marks a DSP advertiser without a profile as run by Amazon's managed service", () => {
    const managed = { kind: "dsp_advertiser", profile_id: null, role: "viewer" } as const;
    expect(isManagedService(managed)).toBe(true);
    expect(accessBadges(managed).map((b) => b.label)).toEqual(["Read-only", "Managed service"]);
    expect(accessBadges(managed)[1]?.hint).toMatch(/manager account/);
    // Under an agency profile, or another kind without one: neither.
    expect(accessBadges({ kind: "dsp_advertiser", profile_id: "7", role: "unknown" })).toEqual([]);
    expect(accessBadges({ kind: "amc_instance", profile_id: null, role: "unknown" })).toEqual([]);
  });
  it("says every role in words", () => {
    for (const role of ["admin", "editor", "viewer", "unknown"] as const) {
      expect(roleText(role)).not.toBe(role);
    }
  });
});

describe("sync warnings say which listing stopped, where and why", () => {
  it("names the listing and its region", () => {
    expect(sourceText("dsp_advertisers_na")).toBe("DSP advertisers (NA)");
    expect(sourceText("manager_accounts_eu")).toBe("Manager accounts (EU)");
    expect(sourceText("profiles_fe")).toBe("Ads profiles (FE)");
    expect(sourceText("ads_accounts")).toBe("Ads accounts");
    expect(sourceText("something_new")).toBe("something_new");
  });
  it("says how far a listing got when it is known", () => {
    expect(syncWarningText({ source: "dsp_advertisers_na", reason: "page_limit", listed: 300 })).toBe(
      "DSP advertisers (NA): stopped after 300 — the page limit, with more left at Amazon",
    );
    expect(syncWarningText({ source: "manager_accounts_fe", reason: "link_limit", listed: 50 })).toMatch(
      /^Manager accounts \(FE\): stopped after 50 — .*most \(50\) links.*account links/,
    );
    expect(syncWarningText({ source: "profiles_fe", reason: "unavailable" })).toBe("Ads profiles (FE): Amazon did not answer");
    expect(syncWarningText({ source: "amc_instances_eu", reason: "incomplete", listed: 0 })).toMatch(/stopped after 0 — time ran out/);
    expect(syncWarningText({ source: "profiles_na", reason: "SOMETHING" })).toBe("Ads profiles (NA): Amazon: SOMETHING");
    expect(syncWarningText({ source: "manager_accounts_na", reason: "links_without_profile", listed: 5 })).toBe(
      "Manager accounts (NA): 5 sponsored-ads links past the first 50 name no profile any call could use",
    );
  });
});

describe("the accounts list's sort in the URL", () => {
  it("reads a sort the API knows, else the default by name", () => {
    expect(sortOf("-last_synced")).toBe("-last_synced");
    expect(sortOf("marketplace")).toBe("marketplace");
    for (const unknown of [null, "", "size", "--name", "Name"]) expect(sortOf(unknown)).toBe("name");
  });
  it("sorts a column ascending first, then the other way, then back", () => {
    expect(sortToggled("name", "status")).toBe("status");
    expect(sortToggled("status", "status")).toBe("-status");
    expect(sortToggled("-status", "status")).toBe("status");
    expect(sortToggled("-status", "name")).toBe("name");
  });
});
