// The header's workspace: which one is active (as the API's session says,
// with the role there) and, on the local stack, the switch between the dev
// user's own workspace and the organization they signed in with. Clerk mode
// uses Clerk's own organization switcher instead (see ClerkAuth).
import { useState } from "react";

import { useSession } from "../api/context";
import { useAuth } from "../auth/auth";
import type { DevAuth } from "../auth/DevAuth";
import { devSlug, roleName, workspaceName } from "../lib/workspace";

/** The active workspace, as the session token makes it. */
export function ActiveWorkspace() {
  const { data } = useSession();
  if (!data) return null;
  const role = roleName(data.organization?.role);
  return (
    <span className="workspace" data-testid="workspace">
      {workspaceName(data)}
      {role ? <span className="muted"> · {role}</span> : null}
    </span>
  );
}

export function DevWorkspaceSwitcher() {
  const auth = useAuth() as DevAuth;
  const [switching, setSwitching] = useState(false);
  const membership = auth.membership;
  if (!membership || auth.state.status !== "signedIn") return null;
  const current = auth.state.organizationId ? "organization" : "personal";
  return (
    <>
      <label htmlFor="workspace-switch" className="sr-only">
        Switch workspace
      </label>
      <select
        id="workspace-switch"
        value={current}
        disabled={switching}
        onChange={(e) => {
          setSwitching(true);
          void auth.switchWorkspace(e.target.value === "organization").finally(() => setSwitching(false));
        }}
      >
        <option value="personal">Personal workspace</option>
        <option value="organization">
          {devSlug(membership.id)} ({membership.role})
        </option>
      </select>
    </>
  );
}
