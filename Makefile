# Ringmaster: every target installs what it needs first, so a fresh Debian machine needs only
# `make run` or `make test`.
SWIFT ?= swift
CONFIG ?= release
BIN = .build/$(CONFIG)

.PHONY: all deps build run test bench clean

all: build

# System packages: libuv (pkg-config name `libuv`, Debian package libuv1-dev), pkg-config, SQLite
# for the sqlite plugin (pkg-config `sqlite3`, libsqlite3-dev) and the sqlite3 shell for `make
# run`'s report; a C compiler and Python 3 for the tests (C and Python SDKs, example producers and
# consumers, test plugins); tmux for `ringmaster top`'s terminal tests. Whatever is missing is installed with one apt-get update and one install.
deps:
	@missing=""; \
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libuv; then missing=" libuv1-dev pkg-config"; fi; \
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists sqlite3; then missing="$$missing libsqlite3-dev pkg-config"; fi; \
	if ! command -v sqlite3 >/dev/null 2>&1; then missing="$$missing sqlite3"; fi; \
	if ! command -v cc >/dev/null 2>&1; then missing="$$missing gcc libc6-dev"; fi; \
	if ! command -v python3 >/dev/null 2>&1; then missing="$$missing python3"; fi; \
	if ! command -v tmux >/dev/null 2>&1; then missing="$$missing tmux"; fi; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

# The main job: the supervisor runs a pool of two file walkers over /usr into ringmaster.sqlite
# through the sqlite plugin (examples/walk-sqlite.yaml, replace mode: a rerun holds one copy),
# then prints a report from it with SQL (examples/walk-report.sql). `ringmaster demo` is the ring demo.
run: build
	$(BIN)/ringmaster run examples/walk-sqlite.yaml
	sqlite3 ringmaster.sqlite < examples/walk-report.sql

# Tests run against a release build: the multi-process tests move millions of records, and the
# helper programs they spawn are built beside the test binary.
test: deps
	$(SWIFT) build -c $(CONFIG) --build-tests
	$(SWIFT) test -c $(CONFIG) --skip-build

# The sdk section runs the three example producers: the C one is built with its own Makefile, the
# Swift one as its own package (it depends on this one by path).
# The walk section compares the walker with fd (Debian package fd-find, binary fdfind), installed
# here when missing; if that fails, the section says so and skips the fdfind comparisons.
bench: build
	@if ! command -v fdfind >/dev/null 2>&1; then \
		echo "installing fd-find (fdfind) for the walk section"; \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fd-find) \
			|| echo "could not install fd-find: the walk section skips its fdfind comparisons"; \
	fi
	$(MAKE) -s -C examples/c-producer
	$(SWIFT) build -c release --package-path examples/swift-producer
	$(BIN)/ringmaster-bench

clean:
	rm -rf .build
