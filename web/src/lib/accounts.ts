// How an account reads in the accounts list and on its page: the ids Amazon
// knows it by, what the login may do with it, and how Amazon reaches it.
import type { Account, AccountSort, Schemas } from "../api/client";
import type { Badge } from "./health";

export const READ_ONLY_HINT =
  "Amazon lets this login read and report only (Viewer access): changes to this account are refused.";
export const MANAGED_SERVICE_HINT = "Reached through a manager account: Amazon's managed service runs it.";

const ROLES: Record<Schemas["AccountRole"], string> = {
  admin: "Admin: owns the account",
  editor: "Editor: may read and change it",
  viewer: "Viewer: may read it and create reports, not change it",
  unknown: "Not reported by Amazon",
};

export function roleText(role: Schemas["AccountRole"]): string {
  return ROLES[role] ?? role;
}

/** A DSP advertiser without an agency profile: run by Amazon's managed
 * service and reached only through a manager account's links. */
export function isManagedService(account: Pick<Account, "kind" | "profile_id">): boolean {
  return account.kind === "dsp_advertiser" && !account.profile_id;
}

/** The badges saying how far the login reaches the account (none when it
 * may do anything Amazon allows). */
export function accessBadges(account: Pick<Account, "kind" | "profile_id" | "role">): Badge[] {
  const badges: Badge[] = [];
  if (account.role === "viewer") badges.push({ label: "Read-only", tone: "info", hint: READ_ONLY_HINT });
  if (isManagedService(account)) badges.push({ label: "Managed service", tone: "info", hint: MANAGED_SERVICE_HINT });
  return badges;
}

/** The ids a call for the account names, in words. */
export function nativeId(account: Account): string {
  switch (account.kind) {
    case "sponsored_ads":
      return `profile ${account.profile_id ?? "?"}`;
    case "dsp_advertiser":
      return isManagedService(account)
        ? `advertiser ${account.advertiser_id ?? "?"} (through a manager account)`
        : `advertiser ${account.advertiser_id ?? "?"} (agency profile ${account.profile_id ?? "?"})`;
    case "amc_instance":
      return `instance ${account.instance_id ?? "?"} (AMC account ${account.amc_account_id ?? "?"})`;
  }
}

/** The longest search the API takes. */
export const MAX_SEARCH_LENGTH = 100;

export type SortField = "name" | "marketplace" | "status" | "last_synced";

const SORTS: AccountSort[] = [
  "name",
  "-name",
  "marketplace",
  "-marketplace",
  "status",
  "-status",
  "last_synced",
  "-last_synced",
];

/** The sort a URL names, or the API's default (by name) for anything else. */
export function sortOf(value: string | null): AccountSort {
  return SORTS.find((s) => s === value) ?? "name";
}

/** The sort after clicking `field`'s header: ascending first, then the
 * other way. */
export function sortToggled(current: AccountSort, field: SortField): AccountSort {
  return current === field ? `-${field}` : field;
}
