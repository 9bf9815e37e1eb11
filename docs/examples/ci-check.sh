#!/bin/sh
# A CI job that fails the pipeline when the server's configuration drifts
# from policy, the audit trail is broken, or users wait too long for a
# decision. Exit status: 0 all hold, 1 drift found, 2 bad policy, 3 no store.
set -eu
gatehouse config check --policy "${POLICY:-/etc/gatehouse/policy.yaml}"
gatehouse users pending --older-than 7d --fail-if-any
