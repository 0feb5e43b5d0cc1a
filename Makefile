# Everything bootstraps itself: a fresh machine with python3 (3.10+) and make needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_DIR := $(VENV)/lambda-runtime
RUNTIME_STAMP := $(RUNTIME_DIR)/.installed

.PHONY: demo test check lint typecheck bench venv clean layer layer-any layer-any-host

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Python runtime the emulator runs functions on: awslambdaric and boto3 only, like Lambda's own
# python3.x image. Kept apart from the dev venv so a function sees what it would see in Lambda.
$(RUNTIME_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --upgrade --target $(RUNTIME_DIR) --only-binary=:all: awslambdaric==4.2.2 boto3
	touch $(RUNTIME_STAMP)

# Third-party packages that functions under test bring themselves, as Lambda layers (python/ inside),
# exactly as users ship them: the OpenTelemetry SDK, aws-lambda-powertools and the Thundra agent.
LAYERS_DIR := $(VENV)/layers
LAYERS_STAMP := $(LAYERS_DIR)/.installed
$(LAYERS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --upgrade --target $(LAYERS_DIR)/otel-sdk/python opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
	$(PY) -m pip install --quiet --upgrade --target $(LAYERS_DIR)/powertools/python aws-lambda-powertools
	$(PY) -m pip install --quiet --upgrade --target $(LAYERS_DIR)/thundra/python thundra==2.7.4
	touch $(LAYERS_STAMP)

# datadog-lambda for benchmarks/bench_headline.py only (large: ddtrace); a failed install is reported there.
BENCH_LAYERS_STAMP := $(LAYERS_DIR)/.bench-installed
$(BENCH_LAYERS_STAMP): $(LAYERS_STAMP)
	$(PY) -m pip install --quiet --upgrade --target $(LAYERS_DIR)/datadog/python datadog-lambda \
		|| echo "datadog-lambda did not install: bench_headline reports it as not run"
	touch $(BENCH_LAYERS_STAMP)

venv: $(STAMP) $(RUNTIME_STAMP) $(LAYERS_STAMP)
	bash scripts/setup-system.sh
	$(MAKE) --no-print-directory layer-any-host || echo "venv: the any-runtime layer's CPython was not built (docs/layer.md); its tests will fail" >&2

demo: venv
	$(PY) -m zerolag.cli.main demo

test: venv
	bash scripts/check

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: venv $(BENCH_LAYERS_STAMP)
	$(PY) benchmarks/run.py

layer: $(STAMP)
	$(PY) -m zerolag.cli.main layer build --out dist/zerolag-layer.zip

# The any-runtime layer (docs/layer.md): the extension plus a CPython built from Debian's sources with the
# pinned Zig, for x86_64 and arm64. Compiled once into ~/.cache/zerolag/anyruntime; later builds only zip.
layer-any: $(STAMP)
	$(PY) -m zerolag.cli.main layer build --any-runtime --out-dir dist

# This machine's architecture only, into the cache the tests use (run by `make venv`, so `make test` has it).
layer-any-host: $(STAMP)
	$(PY) -m zerolag.cli.main layer build --any-runtime --arch $$($(PY) -c 'import platform; print({"aarch64": "arm64"}.get(platform.machine(), platform.machine()))') --out-dir $${ZEROLAG_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/zerolag/anyruntime}/layers

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
