// Signing in: Clerk's own form in production; on the local stack, the dev
// sign-in (pick or type a `user_…` id), which a production build never shows.
import { SignIn as ClerkSignIn } from "@clerk/react";
import { useState, type FormEvent } from "react";

import type { AuthMode } from "../config";
import { useAuth } from "../auth/auth";
import { USER_ID_PATTERN, type DevAuth } from "../auth/DevAuth";

const DEV_USERS = ["user_dev", "user_alice", "user_bob"];

function DevSignIn() {
  const auth = useAuth() as DevAuth;
  const [userId, setUserId] = useState("user_dev");
  const [invalid, setInvalid] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!USER_ID_PATTERN.test(userId)) {
      setInvalid(true);
      return;
    }
    void auth.signIn(userId);
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
