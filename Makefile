# The two commands the README opens with:
#   make quickstart   set everything up (tools/setup_env.sh) and run the main job on the embedded default
#   make test         run the test suite (fast tests plus the small end-to-end runs; `-m slow` adds the long ones)
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: install quickstart test test-slow benchmark-ci benchmark-mini

install:
	bash tools/setup_env.sh

quickstart: install
	$(PY) tools/quickstart.py

test:
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow:
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

# The CI slice of the mini benchmark (one cell per architecture, clean vs unseg, short
# schedules; ~8 min on 2 cores); results outside the committed tables.
benchmark-ci:
	$(PY) benchmarks/run.py --suite mini --study ci --results-dir work_dirs/benchmarks/ci-results --work-dir work_dirs/benchmarks/ci

# Every study of the mini suite (hours on 2 cores); refreshes benchmarks/results/mini/.
benchmark-mini:
	$(PY) benchmarks/run.py --suite mini
