# Two commands do everything on a fresh Debian machine of this kind:
#   make run    build and run the sidecar on its embedded default (mode uas, dry-run)
#   make test   unit tests (swift test), end-to-end tests (real binary + SIPp + stand-in for Bluejay, clients),
#               a short run of each fuzz target, and the unit tests again under AddressSanitizer and ThreadSanitizer

SWIFT ?= swift

.PHONY: deps test-deps bench-deps build run test unit integration fuzz-smoke sanitizers bench bench-quick clean

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

bench-deps:
	@scripts/install-deps bench

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

# The unit tests built and run with each sanitizer, in their own scratch directories. LeakSanitizer is off for the
# unit tests: its exit report is dominated by Swift's weak-reference side tables (referenced only through tagged
# refcount bits it cannot read) and by objects hanging off them; the fuzz targets check leaks per input instead.
sanitizers: test-deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	SWIFT_BACKTRACE=enable=no $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan

test: unit integration fuzz-smoke sanitizers

# Performance, side by side with Kamailio (README "Performance"); 10-15 min, or about 1 min quick.
bench: bench-deps
	python3 bench/run

bench-quick: bench-deps
	python3 bench/run --quick

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
