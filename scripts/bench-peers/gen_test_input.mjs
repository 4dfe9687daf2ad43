// Test helper only: writes a self-signed input for ./run so the peer scripts can be
// exercised without the Rust bench (which produces the real input).
// Usage: node gen_test_input.mjs OUT_DIR   -> prints OUT_DIR/input.json
// The token and signature are valid for ~10 minutes (token exp, svix 5-min tolerance).
import { generateKeyPairSync, createSign, createHmac, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const out = resolve(process.argv[2] ?? ".");
mkdirSync(out, { recursive: true });

const b64url = (b) => Buffer.from(b).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const party = "http://localhost:5173";

// Clerk session-token shape; RSA-2048/e=65537 because Clerk's PEM loader assumes it.
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const header = { alg: "RS256", kid: "ins_test", typ: "JWT" };
const claims = {
  azp: party, exp: now + 600, iat: now - 10, nbf: now - 10,
  iss: "https://clerk.test.example", sid: "sess_test123", sub: "user_test123",
};
const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
const sig = createSign("RSA-SHA256").update(signingInput).sign(privateKey);
const token = `${signingInput}.${b64url(sig)}`;

// Bodies must be valid JSON: svix npm's verify() JSON.parses the payload.
function body(bytes) {
  const skeleton = (pad) => JSON.stringify({ type: "user.updated", object: "event", data: { id: "user_test123", pad } });
  const s = skeleton("x".repeat(bytes - skeleton("").length));
  if (Buffer.byteLength(s) !== bytes) throw new Error("body size mismatch");
  return s;
}

const secretBytes = randomBytes(24);
const id = "msg_test123";
const timestamp = String(now);
// A svix signature covers the body, so each body carries its own.
const bodies = [2048, 1048576].map((bytes) => {
  const path = join(out, `body-${bytes}.json`);
  const text = body(bytes);
  writeFileSync(path, text);
  const mac = createHmac("sha256", secretBytes).update(`${id}.${timestamp}.${text}`).digest("base64");
  return { bytes, path, signature: `v1,${mac}` };
});

const input = {
  token,
  public_key_pem: publicKey.export({ type: "spki", format: "pem" }),
  authorized_parties: [party],
  webhook: { secret: `whsec_${secretBytes.toString("base64")}`, id, timestamp, bodies },
};
writeFileSync(join(out, "input.json"), JSON.stringify(input, null, 2));
console.log(join(out, "input.json"));
