# Entry points for people and CI. Everything real lives in CMake; this file
# only chains set-up, build and test so that `make demo` and `make test` work
# on a fresh Debian 12 machine.
JOBS ?= $(shell nproc)
BUILD ?= build

.PHONY: all deps build demo test test-unit test-sanitize test-fuzz fuzz bench clean format

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
	@$(MAKE) --no-print-directory test-fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# catalog's integration tests against a sanitized swath.
test-sanitize: deps
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSWATH_SANITIZE=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L 'unit|sanitize-integration'

# libFuzzer targets (tests/fuzz, docs/fuzzing.md), built by clang under
# ASan + UBSan in build-fuzz/. test-fuzz replays the regression inputs and
# fuzzes each target FUZZ_TEST_SECONDS (part of `make test`); fuzz does the
# same for FUZZ_SECONDS per target, keeping its corpus in build-fuzz/corpus.
FUZZ_TEST_SECONDS ?= 15
FUZZ_SECONDS ?= 300
FUZZ_CMAKE = cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	-DCMAKE_CXX_COMPILER=clang++ -DSWATH_FUZZ=ON -DSWATH_TCMALLOC=OFF >/dev/null
test-fuzz: deps
	@$(FUZZ_CMAKE) -DSWATH_FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_all
	cd build-fuzz && ctest --output-on-failure -j $(JOBS) -L fuzz

fuzz: deps
	@$(FUZZ_CMAKE)
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_all
	@rc=0; for t in build-fuzz/tests/fuzz/fuzz_*; do [ -x "$$t" ] || continue; n=$${t##*/fuzz_}; \
	  FUZZ_ARTIFACTS=build-fuzz/artifacts bash tests/fuzz/run.sh $$t $$n $(FUZZ_SECONDS) \
	    build-fuzz/corpus/$$n || rc=1; done; exit $$rc

bench: build
	@bash bench/run-all.sh $(BUILD)/swath

format:
	@clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp')

clean:
	rm -rf $(BUILD) build-sanitize build-fuzz
