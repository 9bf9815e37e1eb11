#!/bin/sh
# A tour of gatehouse on a throwaway store (run by `make demo`).
# Everything happens in a temporary directory that is removed at the end.
set -eu
GATEHOUSE=${GATEHOUSE:-gatehouse}
AGE=${AGE:-age}
AGE_KEYGEN=${AGE_KEYGEN:-age-keygen}
KAT=${KAT:-$(cd "$(dirname "$0")/.." && pwd)/internal/oidc/testdata}
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

say "1. Create the store with its first MSP admin, alice; act as her from here on."
step init --admin alice
export GATEHOUSE_ACTOR=alice
say "   Only an MSP admin may change settings; anyone else is refused, and that is audited:"
step --actor mallory sso allow on || echo "(exit status $?: not an MSP admin)"

say "2. Tell gatehouse how the vendor reaches this server; envelopes carry this login URL."
step server configure --external-address support.example.com --port 8443

say "3. The vendor's public key (a throwaway one here, made with age-keygen)."
"$AGE_KEYGEN" -o "$dir/vendor.key" 2>/dev/null
step support recipients add "$("$AGE_KEYGEN" -y "$dir/vendor.key")"

say "4. One command gives the vendor access: a new random password, only its argon2id
   hash kept, the password sealed with age to the vendor's key. Nobody sees it."
cp "$GATEHOUSE_STORE" "$dir/yesterday.db"     # keep a copy, as an old backup would be
step support request --out "$dir/envelope.age" --reason "ticket 4711"

say "5. The vendor's side: the standard age tool opens the envelope (password hidden here)."
"$AGE" -d -i "$dir/vendor.key" "$dir/envelope.age" | sed 's/"password":"[^"]*"/"password":"(hidden)"/'
echo

say "6. A technician logs on with it (piped from the envelope, never shown)."
"$AGE" -d -i "$dir/vendor.key" "$dir/envelope.age" | sed -n 's/.*"password":"\([^"]*\)".*/\1/p' \
  | step support login --technician tech-042
say "   A wrong password is refused (exit 1), and that is recorded too."
echo "guess" | step support login --technician tech-666 || echo "(exit status $?: logon refused)"
step support status

say "7. SSO: allow it, turn on automatic user creation, and let a new user sign in."
step sso allow on
step sso auto-create on
say "   The gate verifies the identity provider's ID tokens itself. Here its keys are"
say "   imported from a file (air-gapped); test keys and tokens from internal/oidc/testdata."
step sso idp set --issuer https://idp.example.test --client-id gatehouse-test --jwks-file "$KAT/kat-jwks.json"
step sso signin --id-token "$KAT/kat-rs256-user1.jwt" --nonce kat-nonce
say "   The account exists once, with no roles or access: it awaits a deliberate assignment."
step users pending
step roles add Technician
step users assign kat@example.test --role Technician
step users pending --fail-if-any
say "   A token someone altered is refused, and the refusal recorded (exit 1)."
step sso signin --id-token "$KAT/kat-rs256-bad-signature.jwt" || echo "(exit status $?: sign-in refused)"
say "   A server that verifies tokens itself asserts the identity (recorded verified: false)."
say "   A sign-in that did not complete creates nobody; sso explain says which condition failed."
step sso signin --issuer https://idp.example.test --subject 00u2bob --email bob@example.com --email-verified --incomplete \
  || echo "(exit status $?: sign-in refused)"
step sso explain bob@example.com

say "8. Every change and every logon is one event in a hash chain."
step audit list
say "   Record the head somewhere the store's writers cannot reach:"
"$GATEHOUSE" audit head | tee "$dir/head"
step audit verify --head "$(cat "$dir/head")"

say "9. Someone puts back yesterday's copy of the store to hide the support request. That
   copy's chain is internally sound, but the recorded head proves events were removed:"
step --store "$dir/yesterday.db" audit verify --head "$(cat "$dir/head")" || echo "(exit status $?: check failed)"

say "10. Cron keeps access short-lived: rotation is harmless to re-run; revoke ends it at once."
step -q support rotate --if-older-than 30d
step support revoke --reason "ticket closed"

say "Tour complete. Next: gatehouse --help, docs/support-access.md, docs/architecture.md"
