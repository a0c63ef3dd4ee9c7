# The two set-up commands (see README.md):
#   make demo   install deps if missing, build, run the default example graph headless -> out/
#   make test   install deps if missing, build, run every test through ctest
BUILD_DIR   ?= build
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=
DEMO_GRAPH  ?= examples-graphs/demo.cgraph

define configure_and_build
	@bash packaging/install-deps.sh
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >$(BUILD_DIR).configure.log 2>&1 || \
	  (cat $(BUILD_DIR).configure.log; exit 1)
	@grep -A12 "CamGraph configuration" $(BUILD_DIR).configure.log || true
	@cmake --build $(BUILD_DIR) -j $(JOBS)
endef

.PHONY: demo test package
demo:
	$(configure_and_build)
	$(BUILD_DIR)/bin/camgraph-cli run $(DEMO_GRAPH) --out out

test:
	$(configure_and_build)
	cd $(BUILD_DIR) && QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j $(JOBS) --timeout 900

# The Debian packages camgraph-cli and camgraph in $(BUILD_DIR)/packages (packaging/README.md):
#   sudo apt install ./build/packages/camgraph*.deb
package:
	$(configure_and_build)
	cd $(BUILD_DIR) && cpack -G DEB -B packages

# GPU configuration (docs/gpu.md):
#   make gpu-deps      fetch the .deb files the bare GPU machine lacks into .gpu-deps/ (json, xxhash, gtest, benchmark)
#   make torch2-check  build the GPU subset against the pinned PyPI libtorch 2 (CUDA 13) in build-torch2/, test on the CPU
#   make gpu-check     on a GPU machine: build, run the CUDA tests and GPU benchmarks, print one table
.PHONY: gpu-deps torch2-check gpu-check
gpu-deps:
	bash bench/gpu/fetch_deps.sh

torch2-check:
	bash bench/gpu/torch2_check.sh

gpu-check:
	bash bench/gpu/check.sh

# Sanitizers (docs/reliability.md): the engine, reader and batch-library tests and the fuzz corpus
# replays, built with ASan + UBSan in $(SANITIZE_BUILD_DIR); .ci/run runs it after make test.
SANITIZE_BUILD_DIR ?= build-asan
.PHONY: sanitize
sanitize:
	@bash packaging/install-deps.sh
	SANITIZE_BUILD_DIR=$(SANITIZE_BUILD_DIR) SANITIZE_JOBS=$(JOBS) bash tools/sanitize_tests.sh

# Fuzzing (tests/fuzz/README.md): a clang build of the libFuzzer harnesses in $(FUZZ_BUILD_DIR), each
# run for FUZZ_SECONDS; new inputs and crashes go to $(FUZZ_BUILD_DIR)/work, not the committed corpus.
#   make fuzz FUZZ_SECONDS=600 [FUZZ_HARNESSES="safetensors torch_checkpoint"]
FUZZ_SECONDS   ?= 60
FUZZ_BUILD_DIR ?= build-fuzz
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD_DIR=$(FUZZ_BUILD_DIR) FUZZ_JOBS=$(JOBS) FUZZ_HARNESSES="$(FUZZ_HARNESSES)" bash tests/fuzz/run_fuzz.sh
