// The typed client for the signed-in user, and the settings every page
// formats with.
import { useQuery } from "@tanstack/react-query";
import { createContext, useContext, useMemo, type ReactNode } from "react";

import { useAuth } from "../auth/auth";
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
