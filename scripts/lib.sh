# Shared by scripts/dev and scripts/test. Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adsconnect-target}"
# Steps write their logs here before any build has created it.
mkdir -p "$CARGO_TARGET_DIR"

# Project-local virtualenv with moto and cfn-lint, re-installed when the
# pinned requirements change.
ensure_venv() {
  local stamp="$VENV/.requirements"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if ! cmp -s "$ROOT/scripts/requirements-dev.txt" "$stamp"; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-dev.txt"
    cp "$ROOT/scripts/requirements-dev.txt" "$stamp"
  fi
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts single-threaded moto on 127.0.0.1:$1 and waits until it answers.
# Sets MOTO_PID; the caller's trap stops it.
start_moto() {
  local port="$1" log="$2"
  "$VENV/bin/python" "$ROOT/scripts/moto_server.py" "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto failed to start; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "moto did not answer on port $port" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}
