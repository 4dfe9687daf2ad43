// All 15 preferences with their ranges. Only changed fields are sent; a
// 400's `field` is shown beside that field; reset restores the defaults.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";

import { ApiFailure, unwrap, type Settings as SettingsModel, type SettingsPatch } from "../api/client";
import { useApi } from "../api/context";
import { ErrorNotice, Skeleton } from "../components/ui";

type Key = keyof SettingsModel;

/** Why the refresh interval changes nothing here: AdsConnect renews every
 * Amazon access token (an hour's life) minutes before it expires, so a
 * longer interval could only let tokens lapse. The original system ran its
 * refresh loop on it; the setting is kept, validated and returned so apps
 * that read a user's settings can keep their own schedules by it. */
export const REFRESH_INTERVAL_HINT =
  "AdsConnect itself renews each Amazon token shortly before it expires, whatever this says: the value is kept for your apps that read your settings (their own sync or report schedules).";

const ZONES: string[] =
  typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];

/** The fields of `edited` that differ from `saved`. */
export function changedFields(saved: SettingsModel, edited: SettingsModel): SettingsPatch {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(edited) as Key[]) {
    if (edited[key] !== saved[key]) patch[key] = edited[key];
  }
  return patch as SettingsPatch;
}

function Field({ id, label, error, children, hint }: { id: string; label: string; error?: string | null; hint?: string; children: ReactNode }) {
  return (
    <div className={`field${error ? " has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <p className="muted small" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function Settings() {
  const api = useApi();
  const queryClient = useQueryClient();
  const saved = useQuery({ queryKey: ["settings"], queryFn: () => unwrap(api.GET("/api/v1/settings")) });
  // The user's edits over what is saved; null: nothing edited.
  const [draft, setDraft] = useState<SettingsModel | null>(null);
  const [fieldError, setFieldError] = useState<{ field: string; message: string } | null>(null);
  const save = useMutation({
    mutationFn: (patch: SettingsPatch) => unwrap(api.PATCH("/api/v1/settings", { body: patch })),
    onSuccess: (settings) => {
      setFieldError(null);
      setDraft(null);
      queryClient.setQueryData(["settings"], settings);
    },
    onError: (error) => {
      if (error instanceof ApiFailure && error.field) setFieldError({ field: error.field, message: error.message });
    },
  });
  const reset = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/settings/reset")),
    onSuccess: (settings) => {
      setFieldError(null);
      setDraft(null);
      queryClient.setQueryData(["settings"], settings);
    },
  });
  if (saved.isPending) return <Skeleton label="your settings" rows={8} />;
  if (saved.isError) return <ErrorNotice error={saved.error} onRetry={() => void saved.refetch()} />;
  const edited = draft ?? saved.data;
  const patch = changedFields(saved.data, edited);
  const errorOf = (key: Key) => (fieldError?.field === key ? fieldError.message : null);
  const set = <K extends Key>(key: K, value: SettingsModel[K]) => setDraft({ ...edited, [key]: value });
  const check = (key: Key, label: string, hint?: string) => (
    <div className="field check">
      <input
        id={key}
        type="checkbox"
        checked={Boolean(edited[key])}
        onChange={(e) => set(key, e.target.checked as never)}
        aria-describedby={hint ? `${key}-hint` : undefined}
      />
      <label htmlFor={key}>{label}</label>
      {hint ? (
        <p className="muted small" id={`${key}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
  const invalid = (key: Key, hinted = false) => ({
    "aria-invalid": errorOf(key) ? true : undefined,
    "aria-describedby":
      [hinted ? `${key}-hint` : null, errorOf(key) ? `${key}-error` : null].filter(Boolean).join(" ") || undefined,
  });
  return (
    <>
      <h1>Settings</h1>
      <form
        className="card settings"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate(patch);
        }}
      >
        <fieldset>
          <legend>Appearance</legend>
          <Field id="theme" label="Theme" error={errorOf("theme")}>
            <select id="theme" value={edited.theme} onChange={(e) => set("theme", e.target.value as SettingsModel["theme"])} {...invalid("theme")}>
              <option value="system">System</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </Field>
          <Field id="dashboard_layout" label="Layout" error={errorOf("dashboard_layout")}>
            <select
              id="dashboard_layout"
              value={edited.dashboard_layout}
              onChange={(e) => set("dashboard_layout", e.target.value as SettingsModel["dashboard_layout"])}
            >
              <option value="grid">Grid</option>
              <option value="list">List</option>
              <option value="compact">Compact</option>
            </select>
          </Field>
          <Field id="items_per_page" label="Items per page (5–100)" error={errorOf("items_per_page")}>
            <input
              id="items_per_page"
              type="number"
              value={edited.items_per_page}
              onChange={(e) => set("items_per_page", Number(e.target.value))}
              {...invalid("items_per_page")}
            />
          </Field>
          {check("auto_expand_details", "Expand details (audit trails) by default")}
          {check("enable_keyboard_shortcuts", "Keyboard shortcuts (g then a page's letter)")}
        </fieldset>
        <fieldset>
          <legend>Dates and times</legend>
          <Field id="timezone" label="Time zone" error={errorOf("timezone")}>
            <input
              id="timezone"
              list="zones"
              value={edited.timezone}
              onChange={(e) => set("timezone", e.target.value)}
              {...invalid("timezone")}
            />
            <datalist id="zones">
              {ZONES.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </Field>
          <Field id="date_format" label="Date format" error={errorOf("date_format")}>
            <select id="date_format" value={edited.date_format} onChange={(e) => set("date_format", e.target.value as SettingsModel["date_format"])}>
              <option value="MM/DD/YYYY">MM/DD/YYYY</option>
              <option value="DD/MM/YYYY">DD/MM/YYYY</option>
              <option value="YYYY-MM-DD">YYYY-MM-DD</option>
            </select>
          </Field>
          <Field id="time_format" label="Time format" error={errorOf("time_format")}>
            <select id="time_format" value={edited.time_format} onChange={(e) => set("time_format", e.target.value as SettingsModel["time_format"])}>
              <option value="12h">12-hour</option>
              <option value="24h">24-hour</option>
            </select>
          </Field>
        </fieldset>
        <fieldset>
          <legend>Accounts and tokens</legend>
          {check("show_expired_accounts", "Show accounts whose connection needs re-authorization")}
          {check("show_disconnected_accounts", "Show disabled accounts")}
          {check("auto_refresh_tokens", "Refresh Amazon tokens automatically")}
          <Field
            id="refresh_interval_hours"
            label="Refresh interval, hours (1–24), for your own apps"
            error={errorOf("refresh_interval_hours")}
            hint={REFRESH_INTERVAL_HINT}
          >
            <input
              id="refresh_interval_hours"
              type="number"
              min={1}
              max={24}
              value={edited.refresh_interval_hours}
              onChange={(e) => set("refresh_interval_hours", Number(e.target.value))}
              {...invalid("refresh_interval_hours", true)}
            />
          </Field>
          <Field id="default_account_id" label="Default account id" error={errorOf("default_account_id")} hint="Set it from the Accounts page; empty for none.">
            <input
              id="default_account_id"
              value={edited.default_account_id ?? ""}
              onChange={(e) => set("default_account_id", e.target.value ? e.target.value : null)}
              {...invalid("default_account_id", true)}
            />
          </Field>
        </fieldset>
        <fieldset>
          <legend>Notifications</legend>
          {check("notifications_enabled", "Notifications")}
          {check("email_notifications", "Email notifications", "Carried in lifecycle events for your app to act on.")}
        </fieldset>
        <div className="actions">
          <button type="submit" disabled={Object.keys(patch).length === 0 || save.isPending}>
            {save.isPending ? "Saving…" : "Save changes"}
          </button>
          <button type="button" onClick={() => setDraft(null)} disabled={Object.keys(patch).length === 0}>
            Discard changes
          </button>
          <button type="button" className="danger" onClick={() => reset.mutate()} disabled={reset.isPending}>
            Reset to defaults
          </button>
        </div>
        {save.isSuccess && Object.keys(patch).length === 0 ? (
          <p role="status" className="notice notice-good">
            Saved.
          </p>
        ) : null}
        {save.isError && !fieldError ? <ErrorNotice error={save.error} /> : null}
        {reset.isError ? <ErrorNotice error={reset.error} /> : null}
      </form>
    </>
  );
}
