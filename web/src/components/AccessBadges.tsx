// "Read-only" and "Managed service" next to an account's name, each with
// its explanation as the tooltip.
import type { Account } from "../api/client";
import { accessBadges } from "../lib/accounts";
import { Badge } from "./ui";

export function AccessBadges({ account }: { account: Pick<Account, "kind" | "profile_id" | "role"> }) {
  return accessBadges(account).map((badge) => (
    <span key={badge.label}>
      {" "}
      <Badge badge={badge} />
    </span>
  ));
}
