// Peer for the webhook row: svix (npm) Webhook(secret).verify(payload, headers), per body size.
// Usage: node svix_verify.mjs INPUT_JSON   (run from the scratch folder that has node_modules)
import { readFileSync } from "node:fs";
import { Webhook } from "svix";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const MIN_ITERS = Number(process.env.BENCH_MIN_ITERS ?? 50);
const fail = (msg) => { console.error(`svix_verify.mjs: ${msg}`); process.exit(1); };

const { webhook: w } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const version = JSON.parse(readFileSync(new URL("./node_modules/svix/package.json", import.meta.url))).version;
// Built once, as a server would: the secret decode is not part of the per-request cost.
const wh = new Webhook(w.secret);

// Check every body before timing any, so a bad input prints no number at all:
// each must verify, and a changed body must not (else we would time a no-op).
const cases = w.bodies.map((b) => {
  if (!b.signature) fail(`body ${b.path} has no signature (each body needs its own)`);
  // A server hands verify() the raw body as a string; svix JSON-parses it on success.
  const payload = readFileSync(b.path, "utf8");
  if (Buffer.byteLength(payload) !== b.bytes) fail(`${b.path} is not ${b.bytes} bytes`);
  const headers = { "svix-id": w.id, "svix-timestamp": w.timestamp, "svix-signature": b.signature };
  try { wh.verify(payload, headers); } catch (e) { fail(`${b.bytes}-byte body rejected: ${e.message}`); }
  let accepted = true;
  try { wh.verify(payload.replace(/.$/s, " "), headers); } catch { accepted = false; }
  if (accepted) fail(`tampered ${b.bytes}-byte body was accepted`);
  return { bytes: b.bytes, payload, headers };
});

for (const { bytes, payload, headers } of cases) {
  const verify = () => wh.verify(payload, headers); // throws on bad signature or stale timestamp
  for (let t0 = performance.now(), n = 0; n < 10 || performance.now() - t0 < 200; n++) verify();
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (iterations < MIN_ITERS || elapsed < BigInt(SECONDS * 1e9)) {
    verify();
    iterations++;
    elapsed = process.hrtime.bigint() - start;
  }
  console.log(JSON.stringify({
    peer: "svix npm", version, body_bytes: bytes,
    ns_per_op: Math.round((Number(elapsed) / iterations) * 10) / 10, iterations,
  }));
}
