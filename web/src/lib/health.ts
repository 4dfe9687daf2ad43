// How a connection's or account's health reads in the UI.
import type { Schemas } from "../api/client";

/** `info` says how an account is reached, not that anything is wrong. */
export type Tone = "good" | "warn" | "bad" | "action" | "info";

export interface Badge {
  label: string;
  tone: Tone;
  /** What the user can do, when anything. */
  hint: string | null;
}

const WARNINGS: Record<Schemas["HealthWarning"], string> = {
  consent_expires_soon: "Consent ends within 30 days: re-authorize soon.",
  consent_expired: "Consent has expired: re-authorize to keep using this connection.",
  refresh_failing: "Token refreshes are failing; they are retried automatically.",
  token_expired: "The access token has expired and was not replaced yet.",
  sync_incomplete: "Part of the last sync failed; sync again later.",
};

export function warningText(warning: Schemas["HealthWarning"]): string {
  return WARNINGS[warning] ?? warning;
}

export function healthBadge(health: Schemas["Health"]): Badge {
  switch (health) {
    case "healthy":
      return { label: "Healthy", tone: "good", hint: null };
    case "warning":
      return { label: "Warning", tone: "warn", hint: "See the warnings below." };
    case "error":
      return { label: "Error", tone: "bad", hint: "Refreshes keep failing; try syncing or re-authorize." };
    case "needs_reauth":
      return { label: "Re-authorize", tone: "action", hint: "Amazon no longer accepts this connection: re-authorize it." };
  }
}
