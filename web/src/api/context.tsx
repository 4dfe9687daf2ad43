// The typed client for the signed-in user, the settings every page formats
// with, and the session: which workspace is active and what it allows.
import { useQuery } from "@tanstack/react-query";
import { createContext, useContext, useMemo, type ReactNode } from "react";

import { useAuth } from "../auth/auth";
import { deniedReason, type Permission } from "../lib/workspace";
import { ApiFailure, createApi, unwrap, type Api, type Settings } from "./client";

const ApiContext = createContext<Api | null>(null);

export function ApiProvider({ baseUrl, children }: { baseUrl: string; children: ReactNode }) {
  const auth = useAuth();
  const api = useMemo(() => createApi(baseUrl, () => auth.getToken()), [auth, baseUrl]);
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside ApiProvider");
  return api;
}

/** The defaults the API documents, until the user's own have loaded. */
export const DEFAULT_SETTINGS: Settings = {
  auto_expand_details: false,
  auto_refresh_tokens: true,
  dashboard_layout: "grid",
  date_format: "MM/DD/YYYY",
  default_account_id: null,
  email_notifications: true,
  enable_keyboard_shortcuts: true,
  items_per_page: 20,
  notifications_enabled: true,
  refresh_interval_hours: 6,
  show_disconnected_accounts: false,
  show_expired_accounts: true,
  theme: "system",
  time_format: "12h",
  timezone: "UTC",
};

export function useSettings(): Settings {
  const api = useApi();
  const { data } = useQuery({
    queryKey: ["settings"],
    queryFn: () => unwrap(api.GET("/api/v1/settings")),
  });
  return data ?? DEFAULT_SETTINGS;
}

export function isFailure(error: unknown): error is ApiFailure {
  return error instanceof ApiFailure;
}

/** The session as the API sees it: the active workspace and its permissions. */
export function useSession() {
  const api = useApi();
  return useQuery({
    queryKey: ["session"],
    queryFn: () => unwrap(api.GET("/api/v1/users/session")),
    staleTime: Infinity,
  });
}

/** Why the session may not do `permission` here, or null when it may. Until
 * the session has loaded nothing is refused here: the API decides anyway. */
export function useDenied(permission: Permission): string | null {
  const { data } = useSession();
  return data ? deniedReason(data, permission) : null;
}
