# The two commands the README opens with:
#   make quickstart   set everything up (tools/setup_env.sh) and run the main job on the embedded default
#   make test         run the test suite (fast tests plus the small end-to-end runs; `-m slow` adds the long ones)
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: install quickstart test test-slow

install:
	bash tools/setup_env.sh

quickstart: install
	$(PY) tools/quickstart.py

test:
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow:
	$(PY) -m pytest -m slow $(PYTEST_ARGS)
