# Two commands do everything on a fresh Debian machine of this kind:
#   make run    build and run the sidecar on its embedded default (mode uas, dry-run)
#   make test   unit tests (swift test), end-to-end tests (real binary + SIPp + stand-in for Bluejay, clients),
#               and a short run of each fuzz target

SWIFT ?= swift

.PHONY: deps test-deps build run test unit integration fuzz-smoke clean

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

build: deps
	$(SWIFT) build

run: build
	$(SWIFT) run bluejay-sidecar

# The client tests run against the real binary, so it is built first.
unit: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration: test-deps build
	python3 -m pytest -q -p no:cacheprovider Tests/integration deploy/clients/python

# Each fuzz target for a few seconds from its seeds (scripts/fuzz --time N for a longer run).
fuzz-smoke: test-deps
	scripts/fuzz --time $(FUZZ_SMOKE_SECONDS)

FUZZ_SMOKE_SECONDS ?= 10

test: unit integration fuzz-smoke

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
