# Entry points for people and CI. Everything real lives in CMake; this file
# only chains set-up, build and test so that `make demo` and `make test` work
# on a fresh Debian 12 machine.
JOBS ?= $(shell nproc)
BUILD ?= build

.PHONY: all deps build demo test test-unit test-sanitize bench clean format

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash examples/demo.sh $(BUILD)/swath

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-sanitize

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# catalog's integration tests against a sanitized swath.
test-sanitize: deps
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSWATH_SANITIZE=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L 'unit|sanitize-integration'

bench: build
	@bash bench/run-all.sh $(BUILD)/swath

format:
	@clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp')

clean:
	rm -rf $(BUILD) build-sanitize
