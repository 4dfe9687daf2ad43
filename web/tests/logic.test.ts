import { describe, expect, it } from "vitest";

import { failureOf } from "../src/api/client";
import { DEFAULT_SETTINGS } from "../src/api/context";
import { parseConfig } from "../src/config";
import { healthBadge } from "../src/lib/health";
import { KNOWN_REASONS, reasonText } from "../src/lib/reasons";
import { changedFields } from "../src/pages/Settings";

describe("health becomes a badge the user can act on", () => {
  it("maps every health", () => {
    expect(healthBadge("healthy")).toMatchObject({ label: "Healthy", tone: "good", hint: null });
    expect(healthBadge("warning").tone).toBe("warn");
    expect(healthBadge("error").tone).toBe("bad");
    expect(healthBadge("needs_reauth")).toMatchObject({ label: "Re-authorize", tone: "action" });
    expect(healthBadge("needs_reauth").hint).toMatch(/re-authorize/i);
  });
});

describe("failures say what happened", () => {
  const response = (status: number, headers: Record<string, string> = {}) => new Response(null, { status, headers });
  it("reads the error envelope with its request id, field and Retry-After", () => {
    const failure = failureOf(response(429, { "retry-after": "37" }), {
      error: { code: "RATE_LIMITED", message: "too many", request_id: "req-1", field: "limit" },
    });
    expect([failure.status, failure.code, failure.requestId, failure.field, failure.retryAfter]).toEqual([
      429,
      "RATE_LIMITED",
      "req-1",
      "limit",
      37,
    ]);
    expect(failure.sessionEnded).toBe(false);
  });
  it("reads API Gateway's own bodies, and a refused session ends it", () => {
    const failure = failureOf(response(403), { message: "Forbidden" });
    expect([failure.code, failure.message, failure.sessionEnded]).toEqual(["GATEWAY_403", "Forbidden", true]);
  });
  it("passes Amazon's code on", () => {
    const failure = failureOf(response(502), {
      error: { code: "AMAZON_REFUSED", message: "m", request_id: "r", amazon_code: "NO_PARENT_ENTITY_ID" },
    });
    expect(failure.amazonCode).toBe("NO_PARENT_ENTITY_ID");
  });
});

describe("settings", () => {
  it("sends only what changed", () => {
    expect(changedFields(DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, theme: "dark", items_per_page: 50 })).toEqual({
      theme: "dark",
      items_per_page: 50,
    });
    expect(changedFields(DEFAULT_SETTINGS, DEFAULT_SETTINGS)).toEqual({});
  });
});

describe("runtime configuration", () => {
  it("accepts a dev and a Clerk configuration, and refuses what cannot work", () => {
    expect(parseConfig({ apiBaseUrl: "https://api.example.com/", authMode: "dev" })).toEqual({
      apiBaseUrl: "https://api.example.com",
      authMode: "dev",
      clerkPublishableKey: null,
    });
    expect(parseConfig({ apiBaseUrl: "https://a.example", authMode: "clerk", clerkPublishableKey: "pk_test_x" }).authMode).toBe(
      "clerk",
    );
    expect(() => parseConfig({ apiBaseUrl: "https://a.example", authMode: "clerk" })).toThrow(/clerkPublishableKey/);
    expect(() => parseConfig({ apiBaseUrl: "ftp://x", authMode: "dev" })).toThrow(/apiBaseUrl/);
    expect(() => parseConfig([])).toThrow();
  });
});

describe("every callback reason is explained in words", () => {
  it("covers the contract's reasons and something sensible for others", () => {
    for (const reason of [
      "invalid_state", "expired_state", "access_denied", "invalid_scope", "authorization_failed", "missing_code",
      "invalid_grant", "client_rejected", "token_exchange_failed", "lwa_unavailable", "storage_unavailable", "timed_out",
    ]) {
      expect(KNOWN_REASONS).toContain(reason);
      expect(reasonText(reason)).not.toContain(reason);
    }
    expect(reasonText("something_new")).toContain("something_new");
  });
});
