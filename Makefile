# Every target creates the virtualenv on first use; nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	-$(BIN)/k0s-policy check examples/airgap-upgrade
	@echo
	@echo "== the same repository after 'k0s-policy fix' style clean-up (examples/airgap-upgrade-fixed):"
	$(BIN)/k0s-policy check examples/airgap-upgrade-fixed

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check checker tests tools bench
	$(BIN)/ruff format --check checker tests tools bench

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py

# Regenerates policies/releases/ and schemas/ from ../shared/reference (developers only).
data: $(STAMP)
	$(BIN)/python tools/gen_releases.py
	$(BIN)/python tools/gen_schemas.py

clean:
	rm -rf $(VENV) build *.egg-info
