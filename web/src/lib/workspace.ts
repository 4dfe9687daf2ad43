// The active workspace as the session shows it (the user's own, or a Clerk
// organization's), what the session may do there, and why a control is off.

export type Permission = "connect" | "manage" | "use" | "read";

export interface WorkspaceSession {
  organization?: { id: string; slug?: string | null; role?: string | null } | null;
  permissions: string[];
}

/** How a permission's refusal reads: "does not allow …". */
const DOING: Record<Permission, string> = {
  connect: "connecting Amazon logins",
  manage: "managing connections and accounts",
  use: "using the Amazon Ads API",
  read: "seeing its connections",
};

/** The organization's name as its members know it (its slug), else its id. */
export function workspaceName(session: WorkspaceSession): string {
  const org = session.organization;
  if (!org) return "Personal workspace";
  return org.slug || org.id;
}

/** Clerk's role without its `org:` prefix (version 1 tokens carry it). */
export function roleName(role: string | null | undefined): string | null {
  return role ? role.replace(/^org:/, "") : null;
}

/** Why the session may not do `permission` in its workspace, or null when it
 * may (everything is allowed in one's own workspace). */
export function deniedReason(session: WorkspaceSession, permission: Permission): string | null {
  if (session.permissions.includes(permission)) return null;
  const role = roleName(session.organization?.role);
  const whose = role ? `Your role in ${workspaceName(session)} (${role})` : `Your access to ${workspaceName(session)}`;
  return `${whose} does not allow ${DOING[permission]}.`;
}

/** Who made an audited change: AdsConnect itself when nobody did. */
export function actorLabel(actor: string | null | undefined, signedInUser: string | null): string {
  if (!actor) return "AdsConnect";
  return actor === signedInUser ? `${actor} (you)` : actor;
}

/** The slug the dev sign-in gives an organization: its id without `org_`. */
export function devSlug(orgId: string): string {
  return orgId.replace(/^org_/, "").toLowerCase();
}

export const ORG_ID_PATTERN = /^org_[A-Za-z0-9_-]{1,123}$/;
