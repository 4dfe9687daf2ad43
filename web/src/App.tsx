// Signed out: the sign-in page (whatever the URL, which is kept, so a
// return from Amazon completes after signing in). Signed in: the pages.
import { QueryClient, QueryClientProvider, QueryCache, MutationCache } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { BrowserRouter, Route, Routes } from "react-router";

import { ApiFailure } from "./api/client";
import { ApiProvider } from "./api/context";
import { useAuth } from "./auth/auth";
import { ClerkAuthProvider, ClerkWorkspaceSwitcher } from "./auth/ClerkAuth";
import { DevAuthProvider } from "./auth/DevAuth";
import { Layout } from "./components/Layout";
import { DevWorkspaceSwitcher } from "./components/WorkspaceSwitcher";
import type { RuntimeConfig } from "./config";
import { AccountDetail } from "./pages/AccountDetail";
import { Accounts } from "./pages/Accounts";
import { AmazonReturn, Connect, RETURN_PATH } from "./pages/Connect";
import { Connections } from "./pages/Connections";
import { Overview } from "./pages/Overview";
import { Reports } from "./pages/Reports";
import { Seats } from "./pages/Seats";
import { Settings } from "./pages/Settings";
import { SignInPage } from "./pages/SignIn";

/** One workspace's pages, with a query cache of their own: switching
 * workspace mounts them afresh, so nothing the previous workspace fetched
 * (nor any page's state) is ever shown in the next one. */
function WorkspacePages({ config }: { config: RuntimeConfig }) {
  const auth = useAuth();
  // A session the API no longer accepts ends here: back to sign-in.
  const [queryClient] = useState(() => {
    const ended = (error: unknown) => {
      if (error instanceof ApiFailure && error.sessionEnded) auth.expired();
    };
    return new QueryClient({
      queryCache: new QueryCache({ onError: ended }),
      mutationCache: new MutationCache({ onError: ended }),
      defaultOptions: {
        queries: {
          // Retry what may pass (not bad input, not a refused session).
          retry: (count, error) => count < 2 && error instanceof ApiFailure && (error.status === 0 || error.status >= 500),
          refetchOnWindowFocus: false,
        },
      },
    });
  });
  return (
    <QueryClientProvider client={queryClient}>
      <ApiProvider baseUrl={config.apiBaseUrl}>
        <Layout workspaceSwitcher={config.authMode === "clerk" ? <ClerkWorkspaceSwitcher /> : <DevWorkspaceSwitcher />}>
          <Routes>
            <Route path="/" element={<Overview />} />
            <Route path="/connect" element={<Connect />} />
            <Route path={RETURN_PATH} element={<AmazonReturn />} />
            <Route path="/settings/amazon" element={<AmazonReturn />} />
            <Route path="/connections" element={<Connections />} />
            <Route path="/accounts" element={<Accounts />} />
            <Route path="/accounts/:id" element={<AccountDetail />} />
            <Route path="/accounts/:id/seats" element={<Seats />} />
            <Route path="/accounts/:id/reports" element={<Reports />} />
            <Route path="/settings" element={<Settings />} />
            <Route path="*" element={<h1>Page not found</h1>} />
          </Routes>
        </Layout>
      </ApiProvider>
    </QueryClientProvider>
  );
}

function Pages({ config }: { config: RuntimeConfig }) {
  const auth = useAuth();
  if (auth.state.status !== "signedIn") return <SignInPage mode={config.authMode} />;
  const { userId, organizationId } = auth.state;
  return <WorkspacePages key={`${userId}/${organizationId ?? "personal"}`} config={config} />;
}

function AuthProvider({ config, children }: { config: RuntimeConfig; children: ReactNode }) {
  if (config.authMode === "clerk" && config.clerkPublishableKey) {
    return <ClerkAuthProvider publishableKey={config.clerkPublishableKey}>{children}</ClerkAuthProvider>;
  }
  return <DevAuthProvider apiBaseUrl={config.apiBaseUrl}>{children}</DevAuthProvider>;
}

export function App({ config }: { config: RuntimeConfig }) {
  return (
    <BrowserRouter>
      <AuthProvider config={config}>
        <Pages config={config} />
      </AuthProvider>
    </BrowserRouter>
  );
}
