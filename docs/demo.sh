#!/bin/sh
# A tour of gatehouse on a throwaway store (run by `make demo`).
# Everything happens in a temporary directory that is removed at the end.
set -eu
GATEHOUSE=${GATEHOUSE:-gatehouse}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export GATEHOUSE_STORE="$dir/state/gatehouse.db"
export GATEHOUSE_CONFIG="$dir/demo.yaml"   # ignore any real configuration
: > "$GATEHOUSE_CONFIG"

bold=''; plain=''
if [ -t 1 ]; then bold=$(printf '\033[1m'); plain=$(printf '\033[0m'); fi
say()  { printf '\n%s\n' "$*"; }
step() { printf '\n%s$ gatehouse %s%s\n' "$bold" "$*" "$plain"; "$GATEHOUSE" "$@"; }

echo "gatehouse tour: a throwaway store at $GATEHOUSE_STORE"

say "1. Create the store. Its first audit event records who did it."
step init

say "2. Tell gatehouse how the vendor reaches this server; support envelopes carry this URL."
step server configure --external-address support.example.com --port 8443
step server show

say "3. Every change is one audit event, written in the same transaction as the change."
cp "$GATEHOUSE_STORE" "$dir/yesterday.db"     # keep a copy, as an old backup would be
step --actor alice server configure --port 443
step audit list
step audit list -o json --limit 1

say "4. The trail is a hash chain. Record its head somewhere the store's writers cannot reach."
"$GATEHOUSE" audit head | tee "$dir/head"
step audit verify --head "$(cat "$dir/head")"

say "5. Someone puts back yesterday's copy of the store to hide alice's change. That copy's
   chain is internally sound, but the recorded head proves events were removed:"
step --store "$dir/yesterday.db" audit verify --head "$(cat "$dir/head")" || echo "(exit status $?: check failed)"

say "Tour complete. Next: gatehouse --help, docs/architecture.md"
