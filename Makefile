# Two commands do everything on a fresh Debian machine of this kind:
#   make run    build and run the sidecar on its embedded default (mode uas, dry-run)
#   make test   unit tests (swift test) and end-to-end tests (real binary + SIPp + stand-in for Bluejay, clients)

SWIFT ?= swift

.PHONY: deps test-deps bench-deps build run test unit integration bench bench-quick clean

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

test: unit integration

# Performance, side by side with Kamailio (README "Performance"); 10-15 min, or about 1 min quick.
bench: bench-deps
	python3 bench/run

bench-quick: bench-deps
	python3 bench/run --quick

clean:
	rm -rf .build
