# slokit: `make` sets up and runs the main job on slo/; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SLOKIT := $(VENV)/bin/slokit
STAMP  := $(VENV)/.installed
SPECS  ?= slo
# Root folder for the generated alerts/, dashboards/, runbooks/ and rollouts/ (`generate` writes there, `check`
# reads there). It defaults to this folder only for the example's slo/: for other specs, say where, e.g.
# `make SPECS=../payments/slo OUT=../payments`, so that the example's committed artifacts are never replaced.
OUT    ?= $(if $(filter slo slo/ ./slo ./slo/,$(SPECS)),.)
NEED_OUT = $(if $(strip $(OUT)),,$(error SPECS=$(SPECS) is not this repository's slo/: set OUT=DIR, the folder \
	for alerts/, dashboards/, runbooks/ and rollouts/ (e.g. OUT=$(patsubst %/,%,$(dir $(patsubst %/,%,$(SPECS))))), \
	so that the example's artifacts here are not replaced))

.PHONY: all setup tools browser validate generate check schema lint typecheck test dashboards report demo clean

all: setup validate generate check

# Tools first: on a bare Debian machine they bring python3-venv too.
tools:
	@scripts/install-tools.sh

$(STAMP): pyproject.toml | tools
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[generator,dev]'
	@touch $(STAMP)

setup: tools $(STAMP)

# Headless Chromium for the HTML report test (make test only).
browser:
	@scripts/install-browser.sh

validate: setup
	$(SLOKIT) validate $(SPECS)

generate: setup
	$(NEED_OUT)$(SLOKIT) generate --out $(OUT) $(SPECS)
	$(SLOKIT) schema > schema/slokit.schema.json

check: setup
	$(NEED_OUT)$(SLOKIT) check --out $(OUT) $(SPECS)

# Generate, then push the dashboards to Grafana (GRAFANA_URL, and GRAFANA_TOKEN or PUSH_ARGS=--token-file F).
dashboards: generate
	$(NEED_OUT)$(SLOKIT) push --out $(OUT) $(SPECS) $(PUSH_ARGS)

lint: setup
	$(VENV)/bin/ruff check generator tests benchmarks examples

typecheck: setup
	$(VENV)/bin/mypy

test: setup browser lint typecheck
	$(PY) -m pytest -q

# SLO report of $(SPECS) from PROMETHEUS_URL into $(REPORT_OUT)/ (Markdown, HTML, JSON); with
# SLACK_WEBHOOK_FILE set, also posted to Slack. Options: make report REPORT_ARGS="--period 7d"
PROMETHEUS_URL ?= http://127.0.0.1:9090
REPORT_OUT ?= report
REPORT_ARGS ?=
SLACK_WEBHOOK_FILE ?=
report: setup
	$(SLOKIT) report $(SPECS) --prometheus $(PROMETHEUS_URL) --format md --format html --format json \
		--out $(REPORT_OUT) $(if $(SLACK_WEBHOOK_FILE),--post-slack --slack-webhook-file $(SLACK_WEBHOOK_FILE)) \
		$(REPORT_ARGS)

# The example service with Prometheus and Alertmanager on 127.0.0.1, then an incident (docs/demo.md).
# Options: make demo DEMO_ARGS="--duration 180 --prometheus-port 19090"
DEMO_ARGS ?=
demo: setup
	$(PY) -m examples.onboarding.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
