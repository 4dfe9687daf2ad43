// The local stack's dev sign-in: any `user_…` id gets a session token from
// the stack's dev-only token endpoint (`POST /_dev/token`), renewed before it
// runs out while the user stays signed in. Never served by a deployed stack.
import { useCallback, useMemo, useState, type ReactNode } from "react";

import { AuthContext, type Auth, type AuthState } from "./auth";

const STORAGE_KEY = "adsconnect.dev-session";
/** A token with less left than this is renewed first. */
const RENEW_MARGIN_MS = 30_000;

interface DevSession {
  userId: string;
  token: string;
  expiresAt: number;
}

function stored(): DevSession | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as DevSession | null;
    return value && typeof value.token === "string" && typeof value.userId === "string" ? value : null;
  } catch {
    return null;
  }
}

export const USER_ID_PATTERN = /^user_[A-Za-z0-9]{1,60}$/;

async function mint(apiBaseUrl: string, userId: string): Promise<DevSession> {
  const response = await fetch(`${apiBaseUrl}/_dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!response.ok) throw new Error(`the dev sign-in answered HTTP ${response.status}`);
  const body = (await response.json()) as { token: string; expires_at: string };
  return { userId, token: body.token, expiresAt: Date.parse(body.expires_at) };
}

export interface DevAuth extends Auth {
  signIn(userId: string): Promise<void>;
}

export function DevAuthProvider({ apiBaseUrl, children }: { apiBaseUrl: string; children: ReactNode }) {
  const [session, setSession] = useState<DevSession | null>(stored);
  const [failure, setFailure] = useState<string | null>(null);

  const keep = useCallback((next: DevSession | null) => {
    if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(STORAGE_KEY);
    setSession(next);
  }, []);

  const auth = useMemo<DevAuth>(() => {
    const state: AuthState = failure
      ? { status: "failed", reason: failure }
      : session
        ? { status: "signedIn", userId: session.userId }
        : { status: "signedOut" };
    return {
      state,
      async getToken() {
        const current = stored();
        if (!current) return null;
        if (current.expiresAt - Date.now() > RENEW_MARGIN_MS) return current.token;
        const renewed = await mint(apiBaseUrl, current.userId);
        keep(renewed);
        return renewed.token;
      },
      async signIn(userId: string) {
        try {
          keep(await mint(apiBaseUrl, userId));
          setFailure(null);
        } catch (error) {
          setFailure(error instanceof Error ? error.message : String(error));
        }
      },
      async signOut() {
        keep(null);
      },
      expired() {
        keep(null);
      },
    };
  }, [apiBaseUrl, failure, keep, session]);

  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}
