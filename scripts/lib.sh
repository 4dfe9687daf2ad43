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

# checkov in a virtualenv of its own: its pinned dependencies (boto3 among
# them) conflict with moto's and the SAM CLI's.
CHECKOV_VENV="$ROOT/.venv-checkov"
ensure_checkov() {
  local stamp="$CHECKOV_VENV/.requirements"
  if [ ! -x "$CHECKOV_VENV/bin/python" ]; then
    python3 -m venv "$CHECKOV_VENV"
  fi
  if ! cmp -s "$ROOT/scripts/requirements-checkov.txt" "$stamp"; then
    "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-checkov.txt"
    cp "$ROOT/scripts/requirements-checkov.txt" "$stamp"
  fi
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts single-threaded moto on 127.0.0.1:$1 and waits until it answers.
# Sets MOTO_PID and adds it to MOTO_PIDS; the caller's trap stops them all
# (stop_moto). Several can run: each serves one request at a time.
MOTO_PIDS=()
start_moto() {
  local port="$1" log="$2"
  "$VENV/bin/python" "$ROOT/scripts/moto_server.py" "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_PIDS+=("$MOTO_PID")
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

# Stops the motos start_moto started, or only those whose PIDs are given.
stop_moto() {
  local stopping=("$@") kept=() pid
  [ $# -gt 0 ] || stopping=("${MOTO_PIDS[@]}")
  for pid in "${stopping[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${MOTO_PIDS[@]}"; do
    [[ " ${stopping[*]} " == *" $pid "* ]] || kept+=("$pid")
  done
  MOTO_PIDS=("${kept[@]}")
}

# The local stack (every function behind the local HTTP API, the Amazon
# stand-in) on free ports, on the moto at $MOTO_ENDPOINT with a table, key and
# secret of its own (named after $1), for a browser app on origin $2. Needs
# the debug build of adsconnect-dev. Sets API_PORT, STUB_PORT and SERVE_PID
# (the caller's trap stops it); its log is $3.
start_local_stack() {
  local name="$1" web_origin="$2" log="$3"
  set -a
  # shellcheck source=dev.env
  source "$ROOT/scripts/dev.env"
  set +a
  API_PORT="$(free_port)"
  STUB_PORT="$(free_port)"
  export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" TABLE_NAME="$name-$$" \
    CLERK_BACKEND_SECRET_ID="adsconnect/$name-$$/clerk-backend" \
    CLERK_WEBHOOK_SECRET_ID="adsconnect/$name-$$/clerk-webhook" \
    AMAZON_CLIENT_SECRET_ID="adsconnect/$name-$$/amazon-client" \
    TOKEN_KEY_ID="alias/$name-$$" DEV_DIR="$CARGO_TARGET_DIR/$name/dev" \
    REPORT_QUEUE_URL="$MOTO_ENDPOINT/123456789012/$name-$$-reports" REPORT_BUCKET="$name-$$-reports" \
    LOCAL_API_ADDR="127.0.0.1:$API_PORT" AMAZON_STUB_ADDR="127.0.0.1:$STUB_PORT" \
    CLERK_API_URL="http://127.0.0.1:$API_PORT/_dev/clerk" \
    AMAZON_REDIRECT_URI="http://127.0.0.1:$API_PORT/api/v1/amazon/callback" \
    ALLOWED_RETURN_ORIGINS="$web_origin" CLERK_AUTHORIZED_PARTIES="$web_origin" \
    DEFAULT_RETURN_URL="$web_origin/amazon/return"
  local region lower
  for region in NA EU FE; do
    lower="$(echo "$region" | tr 'A-Z' 'a-z')"
    export "AMAZON_AUTH_URL_$region=http://127.0.0.1:$STUB_PORT/$lower/ap/oa"
    export "AMAZON_ADS_URL_$region=http://127.0.0.1:$STUB_PORT/$lower"
  done
  export AMAZON_TOKEN_URL="http://127.0.0.1:$STUB_PORT/auth/o2/token" \
    AMAZON_PROFILE_URL="http://127.0.0.1:$STUB_PORT/user/profile"
  local dev="$CARGO_TARGET_DIR/debug/adsconnect-dev"
  mkdir -p "$DEV_DIR"
  "$dev" provision >/dev/null
  CLERK_JWT_KEY="$(cat "$DEV_DIR/clerk-dev-key.pub.pem")"
  export CLERK_JWT_KEY
  RUST_LOG=warn "$dev" serve >"$log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$API_PORT/api/v1/health" >/dev/null && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.2
  done
  echo "the local stack did not answer on port $API_PORT" >&2
  return 1
}

# Debian's Chromium, for the browser tests (installed when missing).
ensure_chromium() {
  ensure_debian_packages /usr/bin/chromium chromium
}

# Debian packages, installed when `probe` (a path) is missing.
ensure_debian_packages() {
  local probe="$1"; shift
  if [ -e "$probe" ]; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# qemu's user-mode aarch64 emulator and the arm64 C library and libgcc it
# loads the arm64 bootstraps with (`qemu-aarch64 -L /usr/aarch64-linux-gnu`).
ensure_qemu_aarch64() {
  ensure_debian_packages /usr/bin/qemu-aarch64 qemu-user
  ensure_debian_packages /usr/aarch64-linux-gnu/lib/libgcc_s.so.1 libc6-arm64-cross libgcc-s1-arm64-cross
}

# The aarch64 standard library (`sam build` builds the template's arm64).
ensure_aarch64_target() {
  rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu ||
    rustup target add aarch64-unknown-linux-gnu
}

# The Node.js LTS the dashboard is built and tested with. A machine whose own
# node is an older line (or not an LTS) gets this one from the npm registry
# (node-<os>-<arch>, the official binary as an npm package) in .tools/node,
# first on PATH from then on; npm and npx are the machine's, run by that node.
NODE_LTS_VERSION=24.22.3
ensure_node() {
  local major="${NODE_LTS_VERSION%%.*}"
  if node -e "process.exit(process.release.lts && +process.versions.node.split('.')[0] >= $major ? 0 : 1)" 2>/dev/null; then
    return 0
  fi
  local dir="$ROOT/.tools/node"
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$NODE_LTS_VERSION" ]; then
    local os arch tmp
    os="$(uname -s | tr 'A-Z' 'a-z')"
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "no Node.js package for $(uname -m)" >&2; return 1 ;;
    esac
    tmp="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$tmp" && npm pack --silent "node-$os-$arch@$NODE_LTS_VERSION" >/dev/null)
    rm -rf "$dir" && mkdir -p "$dir"
    tar xzf "$tmp"/node-*.tgz -C "$dir" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
}

# The API reference page, Redoc prerendered by Redocly CLI from
# web/openapi.json, written to $1 (an absolute path).
build_api_reference() {
  ensure_web_packages
  (cd "$ROOT/web" && npx --no redocly build-docs openapi.json -o "$1" >/dev/null)
}

# The dashboard's npm packages, exactly as locked (again when the lock changes),
# installed by the Node.js LTS above.
ensure_web_packages() {
  ensure_node
  local stamp="$ROOT/web/node_modules/.package-lock.json.stamp"
  if ! cmp -s "$ROOT/web/package-lock.json" "$stamp"; then
    (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$ROOT/web/package-lock.json" "$stamp"
  fi
}
