# Two entry points for a fresh clone (see README.md):
#   make demo   set everything up, outpaint a sample image headless
#   make test   set everything up, run the test suite
# Both create .venv/ with Python >= 3.11; `make test` also installs Xvfb and
# the Qt/OpenGL system libraries when it runs as root on Debian/Ubuntu.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench lint setup system-deps screenshot

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[testing]"
	touch $@

system-deps:
	bash scripts/install-system-deps.sh

demo: setup
	$(VENV)/bin/napari-outpaint sample:cells -o outpainted.tif \
		--top 20 --bottom 20 --left 30 --right 30

test: setup system-deps
	QT_QPA_PLATFORM=xcb $(PY) -m pytest

bench: setup system-deps
	$(PY) bench/bench_runflow.py
	$(PY) bench/bench_polling.py
	$(PY) bench/local_speed.py
	$(PY) bench/quality.py
	$(PY) bench/bench_batch.py
	$(PY) bench/bench_batch_route.py
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
		$(PY) bench/ui_stall.py
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
		$(PY) bench/bench_handles.py

lint: setup
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

screenshot: setup system-deps
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
		$(PY) scripts/screenshot.py docs/screenshot.png
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
		$(PY) scripts/screenshot.py --handles docs/screenshot-handles.png
