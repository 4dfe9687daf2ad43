// Production sign-in: Clerk. Session tokens come from `getToken()`; a Clerk
// that cannot load (its Frontend API unreachable) is a clear failure state,
// never an endless spinner. The active organization (Clerk's switcher picks
// it, the personal workspace included) is the workspace the pages show.
import { ClerkProvider, OrganizationSwitcher, useAuth as useClerkAuth, useClerk } from "@clerk/react";
import { useEffect, useMemo, useState, type ReactNode } from "react";

import { AuthContext, type Auth, type AuthState } from "./auth";

/** How long Clerk may take to load before the page says it cannot. */
const LOAD_TIMEOUT_MS = 10_000;

function ClerkBridge({ children }: { children: ReactNode }) {
  const clerk = useClerk();
  const { isLoaded, isSignedIn, userId, orgId, getToken, signOut } = useClerkAuth();
  const [timedOut, setTimedOut] = useState(false);
  useEffect(() => {
    if (isLoaded) return;
    const timer = setTimeout(() => setTimedOut(true), LOAD_TIMEOUT_MS);
    return () => clearTimeout(timer);
  }, [isLoaded]);

  const auth = useMemo<Auth>(() => {
    let state: AuthState;
    if (clerk.status === "error" || (!isLoaded && timedOut)) {
      state = { status: "failed", reason: "Clerk, which signs you in, could not be reached." };
    } else if (!isLoaded) {
      state = { status: "loading" };
    } else if (isSignedIn && userId) {
      state = { status: "signedIn", userId, organizationId: orgId ?? null };
    } else {
      state = { status: "signedOut" };
    }
    return {
      state,
      getToken: () => getToken(),
      signOut: () => signOut(),
      expired: () => void signOut(),
    };
  }, [clerk.status, getToken, isLoaded, isSignedIn, orgId, signOut, timedOut, userId]);

  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}

export function ClerkAuthProvider({ publishableKey, children }: { publishableKey: string; children: ReactNode }) {
  return (
    <ClerkProvider publishableKey={publishableKey}>
      <ClerkBridge>{children}</ClerkBridge>
    </ClerkProvider>
  );
}

/** Clerk's own switcher between the personal workspace and the user's organizations. */
export function ClerkWorkspaceSwitcher() {
  return <OrganizationSwitcher hidePersonal={false} />;
}
