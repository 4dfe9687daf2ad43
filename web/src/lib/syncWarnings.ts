// A connection's sync warnings in words: which listing, how far it got, and
// why it stopped.
import type { Schemas } from "../api/client";

export type SyncWarning = Schemas["SyncWarning"];

const LISTINGS: Record<string, string> = {
  profiles: "Ads profiles",
  dsp_advertisers: "DSP advertisers",
  amc_instances: "AMC instances",
  manager_accounts: "Manager accounts",
};

const SOURCES: Record<string, string> = {
  ads_accounts: "Ads accounts",
  lwa_profile: "Amazon profile",
};

const REASONS: Record<string, string> = {
  incomplete: "time ran out; the next sync lists the rest",
  page_limit: "the page limit, with more left at Amazon",
  link_limit: "a manager account lists Amazon's most (50) links, and Amazon's account links (closed beta) are not open to this app to read the rest",
  links_without_profile: "sponsored-ads links past the first 50 name no profile any call could use",
  unavailable: "Amazon did not answer",
  unauthorized: "Amazon refused access",
  rejected: "Amazon refused the request",
  invalid_response: "Amazon's answer could not be read",
};

/** "DSP advertisers (NA)" for `dsp_advertisers_na`; an unknown source as is. */
export function sourceText(source: string): string {
  if (SOURCES[source]) return SOURCES[source];
  const match = /^(.+)_(na|eu|fe)$/.exec(source);
  const listing = match ? LISTINGS[match[1] ?? ""] : undefined;
  return listing && match ? `${listing} (${match[2]?.toUpperCase()})` : source;
}

export function reasonText(reason: string): string {
  return REASONS[reason] ?? `Amazon: ${reason}`;
}

/** e.g. "DSP advertisers (NA): stopped after 300 — the page limit, with more left at Amazon". */
export function syncWarningText(warning: SyncWarning): string {
  const reason = reasonText(warning.reason);
  // Here `listed` counts the links left out, not how far a listing got.
  if (warning.reason === "links_without_profile") {
    return `${sourceText(warning.source)}: ${warning.listed ?? "some"} ${reason}`;
  }
  const got = warning.listed === undefined || warning.listed === null ? reason : `stopped after ${warning.listed} — ${reason}`;
  return `${sourceText(warning.source)}: ${got}`;
}
