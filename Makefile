# Provisio build entry points. `make help` lists the targets.
#
# Every target that compiles first runs `deps`, which installs the C
# toolchain and X11/GL headers Fyne needs on a fresh Debian machine and
# does nothing when they are already there.

GO      ?= go
GOFMT   ?= gofmt
TAGS    ?= migrated_fynedo
BIN     ?= bin/provisio
DIST    ?= dist
# Arguments for `make run`, e.g. make run ARGS='--data /tmp/p serve'.
ARGS    ?=

# The official Go tarball installs to /usr/local/go, which a fresh shell
# often does not have on PATH yet.
ifneq ($(wildcard /usr/local/go/bin),)
export PATH := /usr/local/go/bin:$(PATH)
endif

# pipefail, so a failing `go list` in a pipeline fails the target.
SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c


.DEFAULT_GOAL := help
.PHONY: help deps run build test race screenshots screenshots-audit mailcatcher bench bench-wrk lint fmt-check vet check-deps package install clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

deps: ## install the system packages Fyne needs (Debian), if missing
	@.ci/deps.sh

run: deps ## run the console; pass program arguments with ARGS='...'
	$(GO) run -tags $(TAGS) ./app $(ARGS)

build: deps ## build bin/provisio
	$(GO) build -tags $(TAGS) -o $(BIN) ./app

test: deps ## go vet, then every test
	LANG=en_US.UTF-8 $(GO) vet ./...
	LANG=en_US.UTF-8 $(GO) test -count=1 -timeout 30m ./...

# The same tests under the race detector (about four times as long: the app
# package alone takes 6-10 minutes on two CPUs, past go test's default 10-minute
# limit per package, hence -timeout).
race: deps ## every test under the race detector
	LANG=en_US.UTF-8 $(GO) test -race -count=1 -timeout 40m ./...

# Every screen and the main dialogs at 1280x800 and 1920x1080, rendered by
# Fyne's test driver (no display needed) into docs/screenshots for the README.
SHOTS ?= docs/screenshots
screenshots: deps ## render every screen and the phone pages into docs/screenshots (PNG)
	mkdir -p $(SHOTS)
	rm -f $(SHOTS)/*.png
	PROVISIO_SHOTS=$(abspath $(SHOTS)) LANG=en_US.UTF-8 $(GO) test -count=1 -run '^TestScreenshots$$' ./ui/
	PROVISIO_WEB_SHOTS=$(abspath $(SHOTS)) LANG=en_US.UTF-8 $(GO) test -count=1 -run '^TestScreenshots$$' ./core/webclient/
	@echo "screenshots: $$(ls $(SHOTS)/*.png | wc -l) files in $(SHOTS)"

# The console for a layout review: also at 1024x768 and in the light variant
# (-light; the test driver's own is dark), with the authenticator-app dialog.
AUDIT_SHOTS ?= /tmp/shots-ui
screenshots-audit: deps ## render the console at 1024x768, 1280x800 and 1920x1080, dark and light, into /tmp/shots-ui
	mkdir -p $(AUDIT_SHOTS)
	rm -f $(AUDIT_SHOTS)/*.png
	PROVISIO_SHOTS=$(abspath $(AUDIT_SHOTS)) PROVISIO_SHOTS_AUDIT=1 LANG=en_US.UTF-8 $(GO) test -count=1 -run '^TestScreenshots$$' ./ui/
	@echo "screenshots-audit: $$(ls $(AUDIT_SHOTS)/*.png | wc -l) files in $(AUDIT_SHOTS)"

mailcatcher: ## a local SMTP server on 127.0.0.1:2525 that prints every message
	$(GO) run ./core/mailer/smtpcapture/mailcatcher

bench: deps ## run the benchmarks only
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Load test with wrk against the real server and a bare Go TLS server in the
# same run, loopback only (docs/benchmarks.md). Tune with DURATION, CONNS,
# THREADS, LOW_CONNS, USERS, DEVICES, PORT, BATCH_DELAY, STRICT (0: missed
# targets do not fail the run), e.g. make bench-wrk DURATION=20s.
bench-wrk: deps ## wrk load benchmark, side by side with a bare TLS server
	.ci/wrk-bench.sh

lint: fmt-check vet check-deps ## gofmt, go vet and the dependency rules

fmt-check:
	@out="$$($(GOFMT) -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	LANG=en_US.UTF-8 $(GO) vet ./...

# core/... must not see Fyne at all, and ui/... must not create the app (it
# receives it), which keeps both buildable and testable without cgo. ui/...
# must not reach an adapter (#12): it gets what it needs through core's
# interfaces (core.AdminAPI, core.MailTools), which app wires.
UI_FORBIDDEN := provisio/core/mailer provisio/core/store provisio/core/agentxml provisio/core/certs
check-deps: ## prove core/ is Fyne-free and ui/ never imports fyne.io/fyne/v2/app or an adapter
	@deps="$$(CGO_ENABLED=0 $(GO) list -deps ./core/...)"; \
	bad="$$(grep '^fyne\.io/' <<<"$$deps" || true)"; \
	if [ -n "$$bad" ]; then echo "core/... depends on Fyne:"; echo "$$bad"; exit 1; fi
	@deps="$$(CGO_ENABLED=0 $(GO) list -deps ./ui/...)"; \
	if grep -qx 'fyne\.io/fyne/v2/app' <<<"$$deps"; then \
		echo "ui/... imports fyne.io/fyne/v2/app; only app/ may create the application"; exit 1; fi
	@deps="$$(CGO_ENABLED=0 $(GO) list -deps ./ui/...)"; \
	for p in $(UI_FORBIDDEN); do \
		if grep -qx "$$p" <<<"$$deps"; then \
			echo "ui/... depends on $$p; ui gets what it needs through core's interfaces, wired by app/"; exit 1; fi; \
	done
	@echo "check-deps: ok"

# The desktop bundle is made by Fyne's own packager (fyne.io/tools), which
# writes the .desktop entry and icon from FyneApp.toml; it bumps the build
# number in FyneApp.toml, so the file is restored afterwards.
FYNE_TOOLS ?= fyne.io/tools/cmd/fyne@v1.7.4
package: deps ## release bundle dist/Provisio.tar.xz (program, desktop entry, icon) via fyne package
	mkdir -p $(DIST)
	$(GO) build -tags $(TAGS) -trimpath -ldflags '-s -w' -o $(DIST)/provisio ./app
	cp FyneApp.toml $(DIST)/FyneApp.toml.orig
	$(GO) run $(FYNE_TOOLS) package --os linux --release --exe $(DIST)/provisio --name Provisio \
		--icon assets/icon.png --app-id io.provisio.console || { mv $(DIST)/FyneApp.toml.orig FyneApp.toml; exit 1; }
	mv $(DIST)/FyneApp.toml.orig FyneApp.toml
	mv Provisio.tar.xz $(DIST)/Provisio.tar.xz
	rm -f $(DIST)/provisio
	@echo "package: $(DIST)/Provisio.tar.xz"

# Installs the program into /usr/local/bin, with its desktop entry and icon,
# so the console appears in the desktop's menu (needs root: sudo make install).
install: package ## install the program, desktop entry and icon under /usr/local (root)
	rm -rf $(DIST)/bundle && mkdir -p $(DIST)/bundle
	tar -xJf $(DIST)/Provisio.tar.xz -C $(DIST)/bundle
	$(MAKE) -C $(DIST)/bundle/provisio install PREFIX=/usr/local

clean: ## remove build output
	rm -rf bin $(DIST)
