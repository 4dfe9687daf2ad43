"""Peer for the webhook row: svix (PyPI) Webhook(secret).verify(payload, headers), per body size.

Usage: python svix_verify.py INPUT_JSON   (with the venv that ./run builds)
"""
import json
import os
import sys
import time
from importlib.metadata import version

from svix.webhooks import Webhook, WebhookVerificationError

SECONDS = float(os.environ.get("BENCH_SECONDS", 2))
MIN_ITERS = int(os.environ.get("BENCH_MIN_ITERS", 50))


def fail(msg):
    sys.exit(f"svix_verify.py: {msg}")


def verifies(wh, payload, headers):
    try:
        wh.verify(payload, headers)
        return True
    except WebhookVerificationError:
        return False


with open(sys.argv[1]) as f:
    w = json.load(f)["webhook"]
# Built once, as a server would: the secret decode is not part of the per-request cost.
wh = Webhook(w["secret"])

# Check every body before timing any, so a bad input prints no number at all:
# each must verify, and a changed body must not (else we would time a no-op).
cases = []
for b in w["bodies"]:
    if not b.get("signature"):
        fail(f"body {b['path']} has no signature (each body needs its own)")
    # A server hands verify() the raw request bytes (svix python does not JSON-parse them).
    with open(b["path"], "rb") as f:
        payload = f.read()
    if len(payload) != b["bytes"]:
        fail(f"{b['path']} is not {b['bytes']} bytes")
    headers = {"svix-id": w["id"], "svix-timestamp": w["timestamp"], "svix-signature": b["signature"]}
    try:
        wh.verify(payload, headers)
    except WebhookVerificationError as e:
        fail(f"{b['bytes']}-byte body rejected: {e}")
    if verifies(wh, payload[:-1] + b" ", headers):
        fail(f"tampered {b['bytes']}-byte body was accepted")
    cases.append((b["bytes"], payload, headers))

for nbytes, payload, headers in cases:
    t0 = time.perf_counter()
    n = 0
    while n < 10 or time.perf_counter() - t0 < 0.2:
        wh.verify(payload, headers)
        n += 1
    iterations = 0
    budget = int(SECONDS * 1e9)
    start = time.perf_counter_ns()
    elapsed = 0
    while iterations < MIN_ITERS or elapsed < budget:
        wh.verify(payload, headers)
        iterations += 1
        elapsed = time.perf_counter_ns() - start
    print(json.dumps({
        "peer": "svix python", "version": version("svix"), "body_bytes": nbytes,
        "ns_per_op": round(elapsed / iterations, 1), "iterations": iterations,
    }, separators=(",", ":")), flush=True)
