# The two commands a newcomer needs are `make demo` and `make test` (see README.md).
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# checkov (tests/infra/cdk/test_checkov.py) pins old boto3/packaging: it gets its own venv
CHECKOV_VERSION := 3.2.533
CHECKOV_VENV    := .venv-checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# one target per kind of test (tests/<kind>/): `make test-unit`, `make test-e2e PYTEST_ARGS=-x`, ...
TEST_KINDS := test-unit test-integration test-contract test-e2e test-infra test-browser test-parity
XDIST      := -n 2 --dist loadgroup

.PHONY: setup demo test lint bench clean checkov pr $(TEST_KINDS)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

$(CHECKOV_STAMP):
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q 'checkov==$(CHECKOV_VERSION)'
	@rm -f $(CHECKOV_VENV)/.installed-*
	@touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/storefront demo

test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

$(TEST_KINDS): $(STAMP)
	$(BIN)/python -m pytest $(XDIST) tests/$(@:test-%=%) $(PYTEST_ARGS)

# the CDK tests include checkov, which has its own venv
test-infra: $(CHECKOV_STAMP)

# every gate a change must pass before review: ruff and the whole suite (all kinds, the
# import-graph check included), then no whitespace errors in what the branch changed
pr: test
	git diff --check $$(git merge-base HEAD main 2>/dev/null || echo HEAD)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) cdk.out .sandbox .pytest_cache .hypothesis
