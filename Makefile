# The README's two commands are `make demo` and `make test`; both set up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Graphviz draws the diagrams; a CJK font makes their Chinese labels glyphs, not boxes;
# the tests start throw-away PostgreSQL clusters from Debian's server package;
# the browser tests drive Debian's Chromium (Playwright never downloads one).
APT_PACKAGES := graphviz fonts-noto-cjk fontconfig postgresql chromium

.PHONY: setup system-deps demo test soak check bench diagrams clean

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	@if command -v dot >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . \
		&& ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		&& command -v chromium >/dev/null 2>&1; then :; else \
		echo "installing $(APT_PACKAGES) from Debian packages"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

demo: setup
	$(BIN)/campaign demo --dir demo-output

check: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The inner loop: everything but the few soaks marked slow, which CI runs
# after it (`make soak`, called by .ci/run).
test: check
	$(BIN)/pytest -q -n auto -m "not slow"

soak: setup
	$(BIN)/pytest -q -n auto -m slow

bench: setup
	$(BIN)/python bench/run.py

diagrams: setup
	$(BIN)/python -m workflow.render.committed_diagrams diagrams

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artefacts
