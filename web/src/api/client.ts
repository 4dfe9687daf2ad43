// The API client, typed from the project's own OpenAPI document
// (`web/openapi.json` → `schema.d.ts`): a route or field that does not exist
// does not compile. Every failure becomes an `ApiFailure` that says what the
// user can do: the error envelope with its request id, API Gateway's own
// `{"message"}` bodies, `Retry-After`, or an API that cannot be reached.
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Account = Schemas["AccountView"];
export type Connection = Schemas["ConnectionView"];
export type Settings = Schemas["Settings"];
export type SettingsPatch = Schemas["SettingsPatch"];
export type AccountKind = Schemas["AccountKind"];
export type AccountStatus = Schemas["AccountStatus"];
export type AccountSort = Schemas["AccountSort"];
export type Region = Schemas["Region"];

export class ApiFailure extends Error {
  /** When the answer arrived (Retry-After counts from here). */
  readonly receivedAt = Date.now();

  constructor(
    /** 0 when the API could not be reached at all. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null = null,
    readonly field: string | null = null,
    /** Seconds, from `Retry-After`. */
    readonly retryAfter: number | null = null,
    readonly amazonCode: string | null = null,
  ) {
    super(message);
  }

  /** API Gateway refused the session token (or there was none). */
  get sessionEnded(): boolean {
    return this.code === "GATEWAY_401" || this.code === "GATEWAY_403" || this.code === "UNAUTHENTICATED";
  }
}

function retryAfterOf(response: Response): number | null {
  const value = response.headers.get("retry-after");
  if (value === null) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** The failure an answer stands for (the contract's envelope, or API Gateway's). */
export function failureOf(response: Response, body: unknown): ApiFailure {
  const retryAfter = retryAfterOf(response);
  const envelope = (body as { error?: Record<string, unknown> } | null)?.error;
  if (envelope && typeof envelope.code === "string") {
    const text = (key: string) => (typeof envelope[key] === "string" ? (envelope[key] as string) : null);
    return new ApiFailure(
      response.status,
      envelope.code,
      text("message") ?? envelope.code,
      text("request_id") ?? response.headers.get("x-request-id"),
      text("field"),
      retryAfter,
      text("amazon_code"),
    );
  }
  const gateway = (body as { message?: unknown } | null)?.message;
  return new ApiFailure(
    response.status,
    `GATEWAY_${response.status}`,
    typeof gateway === "string" ? gateway : `HTTP ${response.status}`,
    response.headers.get("x-request-id") ?? response.headers.get("apigw-requestid"),
    null,
    retryAfter,
  );
}

export function createApi(baseUrl: string, getToken: () => Promise<string | null>) {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    async onRequest({ request }) {
      const token = await getToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

export type Api = ReturnType<typeof createApi>;

/** The data of a call, or the `ApiFailure` it ended with. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiFailure) throw error;
    throw new ApiFailure(0, "NETWORK", "The API could not be reached. Check your connection and try again.");
  }
  if (result.response.ok) return result.data as T;
  throw failureOf(result.response, result.error);
}
