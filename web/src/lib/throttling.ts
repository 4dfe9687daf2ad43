// Amazon's throttling of an account, as the accounts list reports it.
import type { Schemas } from "../api/client";

export type Throttle = Schemas["ThrottleView"];

/** The cooldowns still running at `now`, soonest end first. The list is as
 * of its fetch; a cooldown ends between fetches, so ended ones are dropped
 * here rather than by polling the API again. */
export function runningThrottles(throttling: Throttle[], now: number): Throttle[] {
  return throttling
    .filter((throttle) => Date.parse(throttle.until) > now)
    .sort((a, b) => Date.parse(a.until) - Date.parse(b.until));
}
