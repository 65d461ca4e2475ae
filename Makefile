# Every target creates the virtualenv on first use; nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-tools lint bench data clean

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

# tests/test_registry.py runs a real registry, skopeo and openssl (Debian packages of the same names): installed
# here when missing and run as root; otherwise those tests fail naming the package under CI=true.
REGISTRY_TOOLS := docker-registry skopeo openssl
test-tools:
	@missing=""; for tool in $(REGISTRY_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing; } \
	      || echo "make test: could not install$$missing; the registry tests will fail naming them"; \
	  else echo "make test: missing$$missing: apt-get install$$missing (the registry tests need them)"; fi; \
	fi

test: $(STAMP) test-tools
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check checker tests tools bench
	$(BIN)/ruff format --check checker tests tools bench

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py

# The structural fuzzer (tests/fuzz/): FUZZ_COUNT inputs, figures at the end; exit 1 on a crash or hang.
FUZZ_COUNT ?= 20000
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --count $(FUZZ_COUNT)

# Regenerates policies/releases/ and schemas/ from ../shared/reference (developers only).
data: $(STAMP)
	$(BIN)/python tools/gen_releases.py
	$(BIN)/python tools/gen_schemas.py
	$(BIN)/python tools/gen_default_configs.py

clean:
	rm -rf $(VENV) build *.egg-info
