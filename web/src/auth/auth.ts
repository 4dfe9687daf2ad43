// What the rest of the page knows of signing in, whichever way it happens
// (Clerk in production, the local stack's dev sign-in locally).
import { createContext, useContext } from "react";

export type AuthState =
  | { status: "loading" }
  | { status: "signedOut" }
  | { status: "failed"; reason: string }
  /** `organizationId`: the organization active in the session token, whose
   * workspace the pages show; null for the user's own. */
  | { status: "signedIn"; userId: string; organizationId: string | null };

export interface Auth {
  state: AuthState;
  /** A fresh session token, or null when signed out. */
  getToken(): Promise<string | null>;
  signOut(): Promise<void>;
  /** Called when the API says the session is no longer valid. */
  expired(): void;
}

export const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside an auth provider");
  return auth;
}
