# Quiver: the two commands are `make demo` and `make test`; everything else
# is for developers. Each target that needs tools runs scripts/bootstrap first
# (a quick no-op when everything is installed).

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
VENV := .venv
PY := $(VENV)/bin/python
CMAKE_FLAGS ?=

.PHONY: all build build-asan build-stub bootstrap test test-c test-py test-asan demo bench fuzz clean

all: build

bootstrap:
	@scripts/bootstrap

build/Makefile:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: build/Makefile
	@cmake --build build -j$(JOBS)

build-asan/Makefile:
	CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DQUIVER_SANITIZE=ON >/dev/null

build-asan: build-asan/Makefile
	@cmake --build build-asan -j$(JOBS)

# The stub build: no gRPC, Flight is a stub, quiverd serves HTTP only.
build-stub:
	cmake -S . -B build-stub -DQUIVER_FLIGHT=OFF >/dev/null
	@cmake --build build-stub -j$(JOBS)

test: bootstrap build
	@scripts/run-tests build

test-asan: bootstrap build-asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  scripts/run-tests build-asan

demo: bootstrap build
	@echo "quiverd: Flight on grpc://localhost:8815, HTTP on http://localhost:8123, console on http://localhost:8123/play (Ctrl-C to stop)"
	./build/quiverd --demo-rows 1000000

bench: bootstrap build
	$(PY) bench/run.py

fuzz: bootstrap
	@scripts/run-fuzz 60

clean:
	rm -rf build build-asan build-stub build-fuzz
