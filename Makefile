# `make demo` and `make test` each build the environment they need from a bare Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := core $(sort $(dir $(wildcard plugins/*/pyproject.toml integrations/*/pyproject.toml examples/*/pyproject.toml)))
SOURCES := core/src $(wildcard plugins/*/src integrations/*/src examples/*/src)

.PHONY: example-fastapi demo test lint types pytest docs docs-serve stress bench clean redis-server valkey-server chromium wrk

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements-dev.txt benchmarks/requirements.txt $(wildcard core/pyproject.toml plugins/*/pyproject.toml integrations/*/pyproject.toml examples/*/pyproject.toml)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -r benchmarks/requirements.txt \
		$(foreach p,$(PACKAGES),-e $(p))
	touch $@

demo: $(VENV)/.installed
	$(BIN)/jamsession demo

# The FastAPI example app (examples/fastapi-app/) on http://127.0.0.1:8000.
example-fastapi: $(VENV)/.installed
	$(BIN)/python examples/fastapi-app/app.py

# The Litestar example app (examples/litestar-app/) on http://127.0.0.1:8000.
.PHONY: example-litestar
example-litestar: $(VENV)/.installed
	$(BIN)/python examples/litestar-app/app.py

# The aiohttp example app (examples/aiohttp-app/) on http://127.0.0.1:8000.
.PHONY: example-aiohttp
example-aiohttp: $(VENV)/.installed
	$(BIN)/python examples/aiohttp-app/app.py

test: lint types pytest docs

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.installed
	$(BIN)/mypy $(SOURCES) benchmarks

pytest: $(VENV)/.installed redis-server valkey-server chromium wrk
	$(BIN)/pytest -m "not slow"

# The Redis plugin's tests run against real servers from Debian's package; where it
# cannot be installed (no root, no package index) those tests skip, saying why.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	 $$S apt-get install -y -qq redis-server >/dev/null 2>&1 \
	 || { $$S apt-get update -qq && $$S apt-get install -y -qq redis-server >/dev/null; } \
	 || echo "redis-server unavailable: the Redis plugin's tests will be skipped"; }

# The same tests run on Valkey, from Debian's package: in the main archive from Debian 13, in
# bookworm-backports for Debian 12 (added as an apt source when needed). Where it cannot be
# installed, the Valkey runs skip, saying why.
BACKPORTS := Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n
valkey-server:
	@command -v valkey-server >/dev/null 2>&1 || { S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	 $$S apt-get install -y -qq valkey-server >/dev/null 2>&1 \
	 || { $$S apt-get update -qq && $$S apt-get install -y -qq valkey-server >/dev/null 2>&1; } \
	 || { . /etc/os-release && [ "$$VERSION_CODENAME" = bookworm ] \
	      && printf '$(BACKPORTS)' | $$S tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null \
	      && $$S apt-get update -qq && $$S apt-get install -y -qq -t bookworm-backports valkey-server >/dev/null; } \
	 || echo "valkey-server unavailable: the Redis plugin's tests will run on Redis alone"; }

# The web tests drive Debian's headless Chromium; where it cannot be installed they skip, saying why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	 $$S apt-get install -y -qq chromium >/dev/null 2>&1 \
	 || { $$S apt-get update -qq && $$S apt-get install -y -qq chromium >/dev/null; } \
	 || echo "chromium unavailable: the web browser test will be skipped"; }

# The end-to-end HTTP benchmark's load generator (Debian's wrk).
wrk:
	@command -v wrk >/dev/null 2>&1 || { S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	 $$S apt-get install -y -qq wrk >/dev/null 2>&1 \
	 || { $$S apt-get update -qq && $$S apt-get install -y -qq wrk >/dev/null; } \
	 || echo "wrk unavailable: the web benchmark will be skipped"; }

docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

docs-serve: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# Every backend against its raw driver and peer libraries; results in benchmarks/results/.
bench: $(VENV)/.installed redis-server wrk
	$(BIN)/python -m benchmarks

stress: $(VENV)/.installed
	$(BIN)/pytest -m slow

clean:
	rm -rf $(VENV) build
