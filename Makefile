# segpipe: `make demo` runs the whole pipeline on real nuclei; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
# torch first, so that the project's `torch>=2.4` is already met and pip never pulls
# the multi-GB CUDA wheels. These machines carry a local CPU wheel of 2.13.0; elsewhere
# point pip at PyTorch's CPU index: make TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: install demo demo3d test lint format reference clean

$(BIN)/segpipe: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/segpipe

demo: install
	@start=$$(date +%s); \
	$(BIN)/segpipe run config/config.yaml --cores $(CORES) && \
	echo "demo finished in $$(( $$(date +%s) - start )) s"

demo3d: install
	$(BIN)/segpipe run config/examples/3d.yaml --cores $(CORES)

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -p no:cacheprovider --durations=25

# ruff formats and lints the Python (pyproject: line length 100), snakefmt the workflow files,
# and Snakemake's own linter reads the rules as it parses them
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules/
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --lint --cores 1

# rewrite every file the way `make lint` wants it
format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt Snakefile rules/

reference: install
	$(BIN)/python -m stages.readme_reference docs/config-reference.md

clean:
	rm -rf results data .snakemake
