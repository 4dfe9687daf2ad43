// Every `reason` the callback can redirect with, in words.
const REASONS: Record<string, string> = {
  invalid_state: "That sign-in link was not valid or was already used. Start again.",
  expired_state: "That sign-in link expired (they last 10 minutes). Start again.",
  access_denied: "You did not allow AdsConnect to access your Amazon Ads accounts.",
  invalid_scope: "Amazon refused the permissions AdsConnect asks for. Contact support.",
  authorization_failed: "Amazon could not complete the authorization. Try again.",
  missing_code: "Amazon did not send an authorization code. Try again.",
  invalid_grant: "Amazon's authorization code expired or was already used. Start again.",
  client_rejected: "Amazon refused this app's credentials. The operators have been told.",
  token_exchange_failed: "Amazon refused to issue tokens. Try again.",
  lwa_unavailable: "Login with Amazon is not answering. Try again in a minute.",
  storage_unavailable: "AdsConnect could not store your connection. Try again in a minute.",
  timed_out: "Amazon took too long to answer. Try again.",
};

export function reasonText(reason: string): string {
  return REASONS[reason] ?? `Connecting failed (${reason}). Try again.`;
}

export const KNOWN_REASONS = Object.keys(REASONS);
