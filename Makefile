# Ringmaster: every target installs what it needs first, so a fresh Debian machine needs only
# `make run` or `make test`.
SWIFT ?= swift
CONFIG ?= release
BIN = .build/$(CONFIG)

.PHONY: all deps build run test bench clean

all: build

# System packages: libuv (pkg-config name `libuv`, Debian package libuv1-dev) and pkg-config.
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libuv; then \
		echo "installing libuv1-dev and pkg-config"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libuv1-dev pkg-config; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG)

# The main job: the supervisor runs a pool of two file walkers over /usr (examples/walk.yaml)
# and prints the stats consumer's summary when the walk ends. `ringmaster demo` is the ring demo.
run: build
	$(BIN)/ringmaster run examples/walk.yaml

# Tests run against a release build: the multi-process tests move millions of records, and the
# helper programs they spawn are built beside the test binary.
test: deps
	$(SWIFT) build -c $(CONFIG) --build-tests
	$(SWIFT) test -c $(CONFIG) --skip-build

bench: build
	$(BIN)/ringmaster-bench

clean:
	rm -rf .build
