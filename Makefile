# The two commands of the course: `make book` builds the executed website into _build/html,
# `make test` runs the whole suite (it builds the book first, since the build is itself a test).
# `make unit` is the fast loop: the tests that need neither the built book, nor the browser, nor
# full nbgrader runs, nor the Colab-like environment. `make lint` checks style and the workflows.
# All create .venv when it is missing and install the pinned environment from constraints.txt.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JOBS   ?= auto
UNIT   := not browser and not slow and not colab
# Tools that tests call as commands (nbgrader runs `alembic`, the grader `jupyter`) come from the venv.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: book test unit install browser lint bench clean

# MathJax served from the site itself (no CDN), so math renders offline and in the browser test.
MATHJAX_VERSION := 3.2.2
MATHJAX := _vendor/mathjax/tex-chtml.js

# pip and setuptools are pinned too (constraints.txt); the package is built with that setuptools
# (no build isolation), so the build does not depend on whatever setuptools an index serves today.
$(STAMP): constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt pip setuptools
	$(PY) -m pip install --quiet --no-build-isolation -c constraints.txt -e ".[test,lint,book,course]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(STAMP)

# Debian's chromium and its driver, for the real-browser test of the built site.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ( $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null )

$(MATHJAX):
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && \
	  tar -xzf mathjax-$(MATHJAX_VERSION).tgz && cd - >/dev/null && mkdir -p _vendor/mathjax && \
	  for part in tex-chtml.js input output ui a11y adaptors; do cp -r $$tmp/package/es5/$$part _vendor/mathjax/; done && \
	  rm -rf _vendor/mathjax/output/svg _vendor/mathjax/output/svg.js $$tmp

book: $(STAMP) $(MATHJAX)
	CONVLAB_PROGRESS=print $(VENV)/bin/jupyter-book build . -W -n --keep-going

# The workflow files are validated offline: GitHub cannot be reached from every build machine.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

unit: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -m "$(UNIT)"

test: $(STAMP) browser lint book
	$(PY) -m pytest -n $(JOBS)

bench: $(STAMP)
	$(PY) benchmarks/bench_functional.py

clean:
	rm -rf _build .pytest_cache
