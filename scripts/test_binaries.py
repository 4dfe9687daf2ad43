"""Runs the test binaries `cargo test --no-run --message-format=json` built,
as many at a time as there are moto endpoints, each against a moto of its own.

moto serves one request at a time (see moto_server.py), so one server bounds
every test that talks to it; binaries are independent (each test makes its
own table), so two servers let two binaries run side by side. The longest
binaries of the last run start first. Each binary's output is printed whole
when it ends, so the `test result:` lines stay one per binary.

Usage: test_binaries.py BUILD_JSON DURATIONS_JSON ENDPOINT...
Exits 1 when any binary fails (after running them all, like --no-fail-fast).
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def test_binaries(build_json: Path) -> list[dict]:
    """The test executables of the build, in cargo's order."""
    binaries = []
    for line in build_json.read_text().splitlines():
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        if not message["profile"]["test"]:
            continue
        target = message["target"]
        binaries.append({
            "name": os.path.relpath(target["src_path"]),
            "integration": target["kind"] == ["test"],
            "executable": message["executable"],
            "package_dir": str(Path(message["manifest_path"]).parent),
        })
    return binaries


def main() -> int:
    build_json, durations_json, *endpoints = sys.argv[1:]
    durations_path = Path(durations_json)
    last = json.loads(durations_path.read_text()) if durations_path.exists() else {}
    binaries = test_binaries(Path(build_json))
    # Longest first; one never timed counts as the longest, and the
    # integration tests (against moto) before the unit tests.
    binaries.sort(key=lambda b: (-last.get(b["name"], float("inf")), not b["integration"]))

    free = queue.Queue()
    for endpoint in endpoints:
        free.put(endpoint)
    print_lock = threading.Lock()
    durations, failed = {}, []

    def run(binary: dict) -> None:
        endpoint = free.get()
        try:
            # As `cargo test` runs it: from its package, knowing its manifest.
            env = dict(os.environ, MOTO_ENDPOINT=endpoint, CARGO_MANIFEST_DIR=binary["package_dir"])
            with tempfile.TemporaryFile() as output:
                started = time.monotonic()
                status = subprocess.run([binary["executable"]], cwd=binary["package_dir"], env=env,
                                        stdout=output, stderr=subprocess.STDOUT).returncode
                elapsed = time.monotonic() - started
                output.seek(0)
                text = output.read().decode(errors="replace")
        finally:
            free.put(endpoint)
        with print_lock:
            durations[binary["name"]] = round(elapsed, 1)
            if status != 0:
                failed.append(binary["name"])
            print(f"     Running {binary['name']} ({binary['executable']}) on {endpoint}: {elapsed:.1f} s")
            print(text, end="" if text.endswith("\n") else "\n", flush=True)

    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        for result in [pool.submit(run, b) for b in binaries]:
            result.result()
    durations_path.write_text(json.dumps(durations, indent=1, sort_keys=True) + "\n")
    if failed:
        print("failed: " + ", ".join(sorted(failed)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
