import { describe, expect, it } from "vitest";

import { actorLabel, deniedReason, devSlug, ORG_ID_PATTERN, roleName, workspaceName } from "../src/lib/workspace";

const ALL = ["connect", "manage", "use", "read"];
const personal = { organization: null, permissions: ALL };
const member = { organization: { id: "org_2acme", slug: "acme", role: "org:member" }, permissions: ["read", "use"] };

describe("the active workspace has a name", () => {
  it("is the personal workspace without an organization", () => {
    expect(workspaceName(personal)).toBe("Personal workspace");
    expect(workspaceName({ permissions: ALL })).toBe("Personal workspace");
  });
  it("is the organization's slug, else its id", () => {
    expect(workspaceName(member)).toBe("acme");
    expect(workspaceName({ organization: { id: "org_2acme", slug: null }, permissions: [] })).toBe("org_2acme");
  });
  it("drops Clerk's org: prefix from roles", () => {
    expect(roleName("org:admin")).toBe("admin");
    expect(roleName("member")).toBe("member");
    expect(roleName(null)).toBeNull();
  });
});

describe("a control the member may not use says why", () => {
  it("allows everything in one's own workspace", () => {
    for (const p of ["connect", "manage", "use", "read"] as const) expect(deniedReason(personal, p)).toBeNull();
  });
  it("allows what the role grants", () => {
    expect(deniedReason(member, "read")).toBeNull();
    expect(deniedReason(member, "use")).toBeNull();
  });
  it("names the organization and the role when refusing", () => {
    expect(deniedReason(member, "manage")).toBe(
      "Your role in acme (member) does not allow managing connections and accounts.",
    );
    expect(deniedReason(member, "connect")).toBe("Your role in acme (member) does not allow connecting Amazon logins.");
  });
  it("still says why when the token carries no role", () => {
    const custom = { organization: { id: "org_2acme", slug: "acme", role: null }, permissions: ["read"] };
    expect(deniedReason(custom, "use")).toBe("Your access to acme does not allow using the Amazon Ads API.");
  });
});

describe("the audit trail names who acted", () => {
  it("is AdsConnect when nobody did", () => {
    expect(actorLabel(null, "user_a")).toBe("AdsConnect");
    expect(actorLabel(undefined, null)).toBe("AdsConnect");
  });
  it("marks the signed-in user's own changes", () => {
    expect(actorLabel("user_a", "user_a")).toBe("user_a (you)");
    expect(actorLabel("user_b", "user_a")).toBe("user_b");
  });
});

describe("the dev sign-in's organizations", () => {
  it("accepts Clerk's organization ids only", () => {
    expect(ORG_ID_PATTERN.test("org_2acme")).toBe(true);
    expect(ORG_ID_PATTERN.test("org_e2e-acme_1")).toBe(true);
    for (const bad of ["", "org_", "acme", "org_a#b", "user_1"]) expect(ORG_ID_PATTERN.test(bad)).toBe(false);
  });
  it("slugs an id without its prefix", () => {
    expect(devSlug("org_Acme2")).toBe("acme2");
  });
});
