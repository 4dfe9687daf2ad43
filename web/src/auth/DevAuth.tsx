// The local stack's dev sign-in: any `user_…` id gets a session token from
// the stack's dev-only token endpoint (`POST /_dev/token`), renewed before it
// runs out while the user stays signed in. Signing in may name an
// organization (and the role there); the user then switches between their
// own workspace and that organization's, each switch minting a token with or
// without it active, as Clerk's organization switcher does. Never served by a
// deployed stack.
import { useCallback, useMemo, useState, type ReactNode } from "react";

import { devSlug } from "../lib/workspace";
import { AuthContext, type Auth, type AuthState } from "./auth";

const STORAGE_KEY = "adsconnect.dev-session";
/** A token with less left than this is renewed first. */
const RENEW_MARGIN_MS = 30_000;

export const DEV_ROLES = ["admin", "member"] as const;
export type DevRole = (typeof DEV_ROLES)[number];

/** An organization the dev user belongs to. */
export interface DevMembership {
  id: string;
  role: DevRole;
}

interface DevSession {
  userId: string;
  membership: DevMembership | null;
  /** Whether the membership's organization is active in the token. */
  inOrganization: boolean;
  token: string;
  expiresAt: number;
}

function stored(): DevSession | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as DevSession | null;
    return value && typeof value.token === "string" && typeof value.userId === "string"
      ? { ...value, membership: value.membership ?? null, inOrganization: value.inOrganization === true }
      : null;
  } catch {
    return null;
  }
}

export const USER_ID_PATTERN = /^user_[A-Za-z0-9]{1,60}$/;

async function mint(
  apiBaseUrl: string,
  userId: string,
  membership: DevMembership | null,
  inOrganization: boolean,
): Promise<DevSession> {
  const active = inOrganization && membership ? membership : null;
  const response = await fetch(`${apiBaseUrl}/_dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      user_id: userId,
      ...(active ? { organization: { id: active.id, slug: devSlug(active.id), role: active.role } } : {}),
    }),
  });
  if (!response.ok) throw new Error(`the dev sign-in answered HTTP ${response.status}`);
  const body = (await response.json()) as { token: string; expires_at: string };
  return { userId, membership, inOrganization: active !== null, token: body.token, expiresAt: Date.parse(body.expires_at) };
}

export interface DevAuth extends Auth {
  /** The organization the dev user signed in with, if any. */
  membership: DevMembership | null;
  /** Signs in, in `membership`'s workspace when one is given. */
  signIn(userId: string, membership?: DevMembership | null): Promise<void>;
  /** Makes the organization's workspace (true) or the user's own active. */
  switchWorkspace(inOrganization: boolean): Promise<void>;
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
        ? {
            status: "signedIn",
            userId: session.userId,
            organizationId: session.inOrganization && session.membership ? session.membership.id : null,
          }
        : { status: "signedOut" };
    const start = async (userId: string, membership: DevMembership | null, inOrganization: boolean) => {
      try {
        keep(await mint(apiBaseUrl, userId, membership, inOrganization));
        setFailure(null);
      } catch (error) {
        setFailure(error instanceof Error ? error.message : String(error));
      }
    };
    return {
      state,
      membership: session?.membership ?? null,
      async getToken() {
        const current = stored();
        if (!current) return null;
        if (current.expiresAt - Date.now() > RENEW_MARGIN_MS) return current.token;
        const renewed = await mint(apiBaseUrl, current.userId, current.membership, current.inOrganization);
        keep(renewed);
        return renewed.token;
      },
      signIn: (userId, membership = null) => start(userId, membership, membership !== null),
      async switchWorkspace(inOrganization) {
        if (session) await start(session.userId, session.membership, inOrganization);
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
