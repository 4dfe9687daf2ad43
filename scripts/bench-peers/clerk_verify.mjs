// Peer for the session-token row: @clerk/backend verifyToken with a PEM key (jwtKey).
// Usage: node clerk_verify.mjs INPUT_JSON   (run from the scratch folder that has node_modules)
import { readFileSync } from "node:fs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const MIN_ITERS = Number(process.env.BENCH_MIN_ITERS ?? 50);
const fail = (msg) => { console.error(`clerk_verify: ${msg}`); process.exit(1); };

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));

// Clerk binds fetch when its module loads, so forbid the network before importing it:
// with jwtKey nothing may be fetched, and a fetch would make the timing meaningless.
let fetches = 0;
globalThis.fetch = async (url) => { fetches++; throw new Error(`network fetch attempted: ${url}`); };
const { verifyToken } = await import("@clerk/backend");
const version = JSON.parse(readFileSync(new URL("./node_modules/@clerk/backend/package.json", import.meta.url))).version;

const opts = { jwtKey: input.public_key_pem, authorizedParties: input.authorized_parties };
const verify = () => verifyToken(input.token, opts); // throws on any failed check

// The input must verify, and a tampered signature must not: otherwise we would time a no-op.
let claims;
try { claims = await verify(); } catch (e) { fail(`input token rejected: ${e.message}`); }
if (!claims?.sub) fail("verifyToken returned no claims");
const [h, p, s] = input.token.split(".");
const bad = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
if (await verifyToken(bad, opts).then(() => true, () => false)) fail("tampered token was accepted");

// Warm up (JIT, key import paths), then time sequential calls for SECONDS and >= MIN_ITERS.
for (let t0 = performance.now(), n = 0; n < 20 || performance.now() - t0 < 200; n++) await verify();
let iterations = 0;
const start = process.hrtime.bigint();
let elapsed = 0n;
while (iterations < MIN_ITERS || elapsed < BigInt(SECONDS * 1e9)) {
  await verify();
  iterations++;
  elapsed = process.hrtime.bigint() - start;
}
if (fetches) fail(`${fetches} network fetch(es) attempted`);

console.log(JSON.stringify({
  peer: "@clerk/backend verifyToken", version,
  ns_per_op: Math.round((Number(elapsed) / iterations) * 10) / 10, iterations,
}));
