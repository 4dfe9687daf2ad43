// Signing in: Clerk's own form in production; on the local stack, the dev
// sign-in (pick or type a `user_…` id, optionally with an organization and
// the role there), which a production build never shows.
import { SignIn as ClerkSignIn } from "@clerk/react";
import { useState, type FormEvent } from "react";

import type { AuthMode } from "../config";
import { useAuth } from "../auth/auth";
import { DEV_ROLES, USER_ID_PATTERN, type DevAuth, type DevRole } from "../auth/DevAuth";
import { ORG_ID_PATTERN } from "../lib/workspace";

const DEV_USERS = ["user_dev", "user_alice", "user_bob"];

function DevSignIn() {
  const auth = useAuth() as DevAuth;
  const [userId, setUserId] = useState("user_dev");
  const [invalid, setInvalid] = useState(false);
  const [orgId, setOrgId] = useState("");
  const [role, setRole] = useState<DevRole>("admin");
  const [orgInvalid, setOrgInvalid] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const org = orgId.trim();
    const userOk = USER_ID_PATTERN.test(userId);
    const orgOk = org === "" || ORG_ID_PATTERN.test(org);
    setInvalid(!userOk);
    setOrgInvalid(!orgOk);
    if (userOk && orgOk) void auth.signIn(userId, org ? { id: org, role } : null);
  };
  return (
    <form className="card signin" onSubmit={submit} aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in (local stack)</h1>
      <p className="muted">
        The local stack signs in any <code>user_…</code> id with a dev session token. Production uses Clerk.
      </p>
      <fieldset>
        <legend>Pick a user</legend>
        {DEV_USERS.map((id) => (
          <button key={id} type="button" onClick={() => void auth.signIn(id)}>
            {id}
          </button>
        ))}
      </fieldset>
      <label htmlFor="user-id">Or type a user id</label>
      <input
        id="user-id"
        value={userId}
        onChange={(e) => {
          setUserId(e.target.value);
          setInvalid(false);
        }}
        aria-invalid={invalid}
        aria-describedby={invalid ? "user-id-error" : undefined}
        autoComplete="off"
      />
      {invalid ? (
        <p id="user-id-error" className="field-error">
          A user id looks like <code>user_</code> followed by letters and digits.
        </p>
      ) : null}
      <fieldset>
        <legend>Organization (optional)</legend>
        <p className="muted small" id="org-id-hint">
          Signs in with this organization's workspace active, as Clerk's organization switcher does; the header then
          switches between it and your personal workspace.
        </p>
        <label htmlFor="org-id">Organization id</label>
        <input
          id="org-id"
          value={orgId}
          placeholder="org_…"
          onChange={(e) => {
            setOrgId(e.target.value);
            setOrgInvalid(false);
          }}
          aria-invalid={orgInvalid}
          aria-describedby={orgInvalid ? "org-id-hint org-id-error" : "org-id-hint"}
          autoComplete="off"
        />
        {orgInvalid ? (
          <p id="org-id-error" className="field-error">
            An organization id looks like <code>org_</code> followed by letters, digits, <code>_</code> or{" "}
            <code>-</code>.
          </p>
        ) : null}
        <label htmlFor="org-role">Role in the organization</label>
        <select id="org-role" value={role} onChange={(e) => setRole(e.target.value as DevRole)}>
          {DEV_ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </fieldset>
      <button type="submit">Sign in</button>
    </form>
  );
}

export function SignInPage({ mode }: { mode: AuthMode }) {
  const auth = useAuth();
  if (auth.state.status === "failed") {
    return (
      <div className="card signin notice-error" role="alert">
        <h1>Signing in is unavailable</h1>
        <p>{auth.state.reason}</p>
        <p className="muted">Check your network, then reload the page.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
  if (auth.state.status === "loading") {
    return (
      <div className="card signin" role="status" aria-busy="true">
        Loading sign-in…
      </div>
    );
  }
  return mode === "dev" ? (
    <DevSignIn />
  ) : (
    <div className="signin">
      <ClerkSignIn />
    </div>
  );
}
