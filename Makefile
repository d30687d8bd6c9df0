# `make run`: set up, build the index if missing, serve the chat.   `make test`: set up, run all tests.
# `make test-fast`: unit tests only (under a minute).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup index run test test-fast browsers bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the CPU wheel on disk; never let pip resolve a newer (CUDA) torch
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[test,milvus]"
	touch $(STAMP)

# The package is byte-compiled first: where PYTHONDONTWRITEBYTECODE is set, every start would compile it again.
index: setup
	$(BIN)/python -m compileall -q chatbot app.py > /dev/null
	$(BIN)/chatbot build --if-missing

run: index
	$(BIN)/python app.py $(ARGS)

# Debian's Chromium and a CJK font for the browser tests (Playwright cannot download its own here).
browsers:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "chromium and CJK fonts present"; \
	else \
	  $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	fi

test: setup browsers
	$(BIN)/lint-imports --no-cache  # the layering contract in pyproject.toml [tool.importlinter]
	$(BIN)/python -m pytest -q -rs

# the fast loop while you work: unit tests only (fake embedder, no subprocess, server or browser)
test-fast: setup
	$(BIN)/python -m pytest -q tests/unit

bench: setup
	$(BIN)/chatbot bench $(ARGS)

clean:
	rm -rf embeddings/current embeddings/v-* embeddings/.tmp-* artifacts .pytest_cache
