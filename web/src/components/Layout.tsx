// The frame of every signed-in page: navigation, the active workspace and
// its switcher, the signed-in user, the theme and layout the settings ask
// for, and keyboard shortcuts (when on).
import { useEffect, type ReactNode } from "react";
import { NavLink, useNavigate } from "react-router";

import { useSettings } from "../api/context";
import { useAuth } from "../auth/auth";
import { ActiveWorkspace } from "./WorkspaceSwitcher";

const PAGES = [
  { to: "/", label: "Overview", key: "o" },
  { to: "/connect", label: "Connect Amazon", key: "n" },
  { to: "/connections", label: "Connections", key: "c" },
  { to: "/accounts", label: "Accounts", key: "a" },
  { to: "/settings", label: "Settings", key: "s" },
];

/** `g` then a page's key navigates there, unless typing in a field. */
function useShortcuts(enabled: boolean) {
  const navigate = useNavigate();
  useEffect(() => {
    if (!enabled) return;
    let armed = false;
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      if (armed) {
        armed = false;
        const page = PAGES.find((p) => p.key === event.key);
        if (page) navigate(page.to);
      } else if (event.key === "g") {
        armed = true;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enabled, navigate]);
}

export function Layout({ workspaceSwitcher, children }: { workspaceSwitcher: ReactNode; children: ReactNode }) {
  const auth = useAuth();
  const settings = useSettings();
  useShortcuts(settings.enable_keyboard_shortcuts);
  useEffect(() => {
    document.documentElement.dataset.theme = settings.theme;
  }, [settings.theme]);
  const userId = auth.state.status === "signedIn" ? auth.state.userId : null;
  return (
    <div className={`app layout-${settings.dashboard_layout}`}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">AdsConnect</span>
        <nav aria-label="Main">
          <ul>
            {PAGES.map((page) => (
              <li key={page.to}>
                <NavLink to={page.to} end={page.to === "/"}>
                  {page.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <ActiveWorkspace />
          {workspaceSwitcher}
          {userId ? <span className="muted" data-testid="user-id">{userId}</span> : null}
          <button type="button" onClick={() => void auth.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      {settings.enable_keyboard_shortcuts ? (
        <footer className="muted shortcuts">Shortcuts: g then o, n, c, a or s.</footer>
      ) : null}
    </div>
  );
}
