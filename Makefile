# gatehouse — build, test and documentation targets.
# `make test` is the one test command: README's quick start and .ci/run use it.

GO       ?= go
BIN      := bin/gatehouse
TOOLS    := $(CURDIR)/bin/tools
# staticcheck 2026.2.2, pinned; installed into bin/tools by `make lint`.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)

.PHONY: all build test lint idp-deps docs bench bench-1m fuzz install demo clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/gatehouse

# Install the binary, man pages, shell completions, systemd units and the
# cron example under PREFIX, staged under DESTDIR for a package:
#   make install PREFIX=/usr/local DESTDIR=/tmp/stage
# Units go to PREFIX/lib/systemd/system (/usr/local/lib/systemd/system is on
# systemd's search path; a package sets PREFIX=/usr), with ExecStart set to
# BINDIR. Nothing is enabled or started. See docs/operations.md.
PREFIX         ?= /usr/local
DESTDIR        ?=
BINDIR         ?= $(PREFIX)/bin
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR         ?= $(DATADIR)/doc/gatehouse
INSTALL        ?= install

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/zsh/site-functions \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/gatehouse
	$(INSTALL) -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(BIN) completion bash > $(DESTDIR)$(DATADIR)/bash-completion/completions/gatehouse
	$(BIN) completion zsh > $(DESTDIR)$(DATADIR)/zsh/site-functions/_gatehouse
	$(BIN) completion fish > $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/gatehouse.fish
	chmod 0644 $(DESTDIR)$(DATADIR)/bash-completion/completions/gatehouse \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions/_gatehouse $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/gatehouse.fish
	for u in gatehouse-rotate.service gatehouse-rotate.timer gatehouse-forward.service; do \
	  sed 's|/usr/local/bin/gatehouse|$(BINDIR)/gatehouse|g' docs/examples/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	sed 's|/usr/local/bin|$(BINDIR)|g' docs/examples/crontab > $(DESTDIR)$(DOCDIR)/examples/crontab
	$(INSTALL) -m 0644 docs/examples/ci-check.sh $(DESTDIR)$(DOCDIR)/examples/
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/crontab

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l cmd pkg internal); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# The real OpenID provider of the end-to-end SSO tests (internal/idptest):
# its npm packages exactly as package-lock.json pins them, installed again
# only when the lock file is newer than the install.
IDP_DIR := internal/idptest/testdata/provider
idp-deps: $(IDP_DIR)/node_modules/.package-lock.json

$(IDP_DIR)/node_modules/.package-lock.json: $(IDP_DIR)/package-lock.json
	cd $(IDP_DIR) && npm ci --no-audit --no-fund

# vet, staticcheck, then every test (unit, end-to-end scripts, docs
# staleness) with the race detector.
test: lint idp-deps
	$(GO) test -race -count=1 ./...

# Regenerate the command reference and man pages from the cobra tree.
docs:
	$(GO) run ./internal/tools/gendocs docs

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# audit verify of 1,000,000 events beside its scan+hash limits (the store is
# built once, in about two minutes, and kept in the OS temp directory).
bench-1m:
	GATEHOUSE_BENCH_EVENTS=1000000 $(GO) test ./internal/sqlite -run '^$$' \
	  -bench 'VerifyLarge|LimitVerifyScanHash' -benchtime 1x -count 5 -benchmem

# Fuzz every target for FUZZTIME each (make test runs their seed corpora).
FUZZTIME ?= 30s
FUZZ_TARGETS := internal/render:FuzzIndentJSON pkg/gatehouse:FuzzNormaliseEmail pkg/gatehouse:FuzzParseDuration \
	internal/policy:FuzzParse internal/audit:FuzzCanonicalRoundTrip internal/audit:FuzzParseTime \
	internal/support:FuzzParseRecipient internal/support:FuzzParseEnvelope \
	internal/render:FuzzYAML
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$pkg $$name"; \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

# The real age tools (pinned in go.mod), for the demo's vendor side.
bin/age bin/age-keygen:
	$(GO) build -o bin/age filippo.io/age/cmd/age
	$(GO) build -o bin/age-keygen filippo.io/age/cmd/age-keygen

# A tour on a throwaway store: builds the binary and runs docs/demo.sh.
demo: build bin/age bin/age-keygen
	GATEHOUSE=$(CURDIR)/$(BIN) AGE=$(CURDIR)/bin/age AGE_KEYGEN=$(CURDIR)/bin/age-keygen sh docs/demo.sh

clean:
	rm -rf bin
