// The page's runtime configuration, read from /config.json so that the same
// build is tested locally and deployed (the deploy guide writes it from the
// stack's outputs).

export type AuthMode = "dev" | "clerk";

export interface RuntimeConfig {
  /** The HTTP API's base URL, without a trailing slash. */
  apiBaseUrl: string;
  /** `dev`: the local stack's dev sign-in; `clerk`: Clerk's. */
  authMode: AuthMode;
  /** Clerk's publishable key (`pk_…`), for `clerk` mode. */
  clerkPublishableKey: string | null;
}

export class ConfigError extends Error {}

/** Validates what /config.json holds; anything else is a clear error. */
export function parseConfig(value: unknown): RuntimeConfig {
  if (typeof value !== "object" || value === null) {
    throw new ConfigError("config.json must be a JSON object");
  }
  const raw = value as Record<string, unknown>;
  const apiBaseUrl = raw.apiBaseUrl;
  if (typeof apiBaseUrl !== "string" || !/^https?:\/\//.test(apiBaseUrl)) {
    throw new ConfigError("config.json: apiBaseUrl must be an http(s) URL");
  }
  const authMode = raw.authMode;
  if (authMode !== "dev" && authMode !== "clerk") {
    throw new ConfigError('config.json: authMode must be "dev" or "clerk"');
  }
  const key = raw.clerkPublishableKey ?? null;
  if (key !== null && typeof key !== "string") {
    throw new ConfigError("config.json: clerkPublishableKey must be a string or null");
  }
  if (authMode === "clerk" && !key) {
    throw new ConfigError("config.json: clerk mode needs clerkPublishableKey");
  }
  return { apiBaseUrl: apiBaseUrl.replace(/\/+$/, ""), authMode, clerkPublishableKey: key };
}

export async function loadConfig(): Promise<RuntimeConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new ConfigError(`config.json could not be loaded (HTTP ${response.status})`);
  }
  return parseConfig(await response.json());
}
