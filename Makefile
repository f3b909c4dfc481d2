# Deep Learning for Music Classification: the two commands are `make course` and `make test`.
# Both create a virtual environment in .venv (once) and install requirements.txt into it.
# Set VENV= to use the Python environment you are in instead (e.g. on Binder or in conda).
# `make test` also installs, where it can, what the browser check of the slides needs: reveal.js
# from the npm registry, Playwright from PyPI and Debian's Chromium (as root, with apt-get).
# Where one of them cannot be had, the slide tests that need it skip and say why.

PYTHON ?= python3
VENV ?= .venv
ifeq ($(strip $(VENV)),)
PY := $(PYTHON)
STAMP := .installed-here
TEST_STAMP := .installed-test-here
else
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
endif
NPM ?= npm
REVEAL := slides/node_modules/reveal.js/dist/reveal.js

# Keep TensorFlow's C++ log lines out of notebook outputs, and have the kernel use the course's
# IPython profile (it stops native stderr from leaking into cells, which would break nbval).
export TF_CPP_MIN_LOG_LEVEL := 3
export IPYTHONDIR := $(CURDIR)/tests/ipython


NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NBVAL := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900 -p no:cacheprovider

# Python's hash seed is left random on purpose: nothing the course computes may depend on it
# (tests/test_hash_seed.py builds every mini dataset under two seeds).

.PHONY: course test test-fast test-portable install test-install reveal browser unit nbval benchmarks benchmarks-one-core data lab lab-check slides slides-check clean help

help:
	@echo "make course     execute every notebook headless on the embedded data, write build/"
	@echo "make test       unit tests + nbval over every notebook"
	@echo "make test-fast  the unit tests not marked slow, in parallel (pytest-xdist): a few minutes"
	@echo "make test-portable  nbval with other TensorFlow kernels and on one thread (stand-ins for other machines)"
	@echo "make slides     build the slide decks into build/slides (self-contained reveal.js HTML)"
	@echo "make slides-check  ... and render each deck in headless Chromium (screenshots in build/slides)"
	@echo "make lab        start JupyterLab"
	@echo "make lab-check  open and run every notebook in JupyterLab in headless Chromium (build/lab; LAB_CHECK_NOTEBOOKS=\"01 06\" for some)"
	@echo "make benchmarks measure notebook time and memory, training and SVM speed"
	@echo "make benchmarks-one-core  each notebook on one core (taskset -c 0), several runs; Binder's synthesis and first start"

$(STAMP): requirements.txt pyproject.toml
ifneq ($(strip $(VENV)),)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
endif
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(TEST_STAMP): requirements-test.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $(TEST_STAMP)

test-install: $(TEST_STAMP)

# reveal.js, exactly as pinned in slides/package-lock.json.
$(REVEAL): slides/package.json slides/package-lock.json
	cd slides && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

# Best effort for `make test`: without npm the slide tests skip.
reveal:
	@if command -v $(NPM) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(REVEAL) || \
		echo "note: npm could not install reveal.js: the slide build tests will be skipped"; \
	else echo "note: no npm here: the slide build tests will be skipped"; fi

# Debian's Chromium for the browser check, installed when we are root and have apt-get.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$COURSE_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser check of the slides ..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "note: apt-get could not install chromium: the browser check will be skipped"; \
	else echo "note: no chromium and no root apt-get: the browser check will be skipped"; fi

slides: install $(REVEAL)
	$(PY) -m course_utils slides --out build/slides

slides-check: test-install $(REVEAL) browser
	$(PY) -m course_utils slides --out build/slides --check

# The mini datasets are built first (a few minutes, once), so that the notebooks' table times the
# notebooks alone.
course: install data
	$(PY) -m course_utils run-notebooks $(NOTEBOOKS) --out build

# The mini datasets are built into data/ first (the notebooks need them); the unit tests work on
# private copies (tests/conftest.py) and fail if they write into the checkout or data/.
test: test-install reveal browser data
	$(PY) -m pytest tests $(NOTEBOOKS) $(NBVAL)

# While you work: the unit tests in parallel, without those marked slow (training, notebooks run
# headless, the browser, every mini dataset built); `make test` stays the full check.
TEST_WORKERS ?= auto
test-fast: test-install data
	$(PY) -m pytest tests -n $(TEST_WORKERS) -m "not slow" -p no:cacheprovider

# Stand-ins for other machines (see README, "Stored outputs"): nbval over every notebook with
# TensorFlow's other CPU kernels (oneDNN off), then on one CPU thread, each under another hash
# seed. Numbers that come from training are masked and checked against their ranges in
# tests/notebook_numbers.py (conftest.py); everything else must match the stored outputs exactly.
ONE_THREAD := $(shell command -v taskset >/dev/null 2>&1 && echo taskset -c 0)
test-portable: test-install
	TF_ENABLE_ONEDNN_OPTS=0 PYTHONHASHSEED=1 $(PY) -m pytest $(NOTEBOOKS) $(NBVAL)
	PYTHONHASHSEED=2 OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
		$(ONE_THREAD) $(PY) -m pytest $(NOTEBOOKS) $(NBVAL)

unit: test-install reveal browser
	$(PY) -m pytest tests -p no:cacheprovider

nbval: install
	$(PY) -m pytest $(NOTEBOOKS) $(NBVAL)

data: install
	$(PY) -m course_utils data synth all

benchmarks: install
	$(PY) benchmarks/notebooks.py --out benchmarks/results/notebooks.json

# Issue 28: every notebook pinned to one core (Binder's share), RUNS times with cold feature caches,
# and what a Binder user waits for (binder/postBuild's synthesis, the first notebook's cold start).
RUNS ?= 2
benchmarks-one-core: install
	$(PY) benchmarks/notebooks.py --one-core --runs $(RUNS) --cold-caches --out benchmarks/results/notebooks_one_core.json
	$(PY) benchmarks/binder.py --out benchmarks/results/binder.json

lab: install
	$(PY) -m jupyter lab notebooks/

# The learner's screen (issue 27): JupyterLab on 127.0.0.1 (free port, token) over a copy of the
# notebooks, driven by Playwright in headless Chromium. Each notebook is opened as stored and run with
# Restart Kernel and Run All; screenshots, browser wall times and summary.json go to build/lab/.
# `make test` runs the same check (tests/test_lab_check.py) wherever Chromium is present.
# LAB_CHECK_NOTEBOOKS="01 06" checks only those notebooks.
lab-check: test-install browser data
	$(PY) tests/lab_check.py

clean:
	rm -rf build .pytest_cache
