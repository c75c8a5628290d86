# The two commands: `make run` (local stack) and `make test` (lint + all tests).
# Both create .venv themselves from the pinned requirements-dev.txt.

# Lambda runs python3.13: the virtualenvs use it where this machine has it (on PATH, or
# among pyenv's installed versions), otherwise python3.11 with a warning.
PYTHON ?= $(shell for p in python3.13 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null \
	| sort -V | tail -n 1) python3.11 python3; do "$$p" -c "" >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY := $(BIN)/python
PYTEST_ARGS ?=
export PYTHONPATH := $(CURDIR)/layers/core:$(CURDIR)

.PHONY: help venv lint test unit integration run send cancel status inbound rotate-webhook-password bench soak audit build cfn lock clean schemas

help:
	@echo "make run      start the local stack (moto server, Aculab simulator, the three functions)"
	@echo "make test     lint and run every test (bounded reliability suite included)"
	@echo "make send TO=447700900123 TEXT='hello'   put a message on the local queue"
	@echo "make send ... AT=+2m VALID_FOR=300   a scheduled send, never sent after 5 minutes"
	@echo "make cancel ID=<message_id>  cancel it, whatever stage it is at"
	@echo "make status ID=<message_id>  a message's status, parts and timeline (GET /messages/{id}, SigV4)"
	@echo "make bench    benchmarks with targets;  make soak  the full reliability counts"
	@echo "make audit    pip-audit of the layer's pinned runtime dependencies (needs PyPI's JSON API)"
	@echo "make build    sam build (needs aws-sam-cli and python3.13)"

$(STAMP): requirements-dev.txt layers/core/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import sys; sys.exit(sys.version_info[:2] != (3, 13))" || \
		echo "WARNING: $(VENV) uses $$($(PY) --version): Lambda runs python3.13, which this machine lacks"
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

build/template.cfn.json: template.yaml local/template.py $(STAMP)
	$(PY) -m local.template build/template.cfn.json

cfn: build/template.cfn.json

# checkov lives in its own virtualenv: its pins must not bend the dev tools'
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

lint: $(STAMP) $(CHECKOV_STAMP) build/template.cfn.json
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/cfn-lint build/template.cfn.json
	$(CHECKOV_VENV)/bin/checkov -f build/template.cfn.json --framework cloudformation --quiet --compact --skip-download
	@if [ -x "$(SAM)" ]; then SAM_CLI_TELEMETRY=0 $(SAM) validate --lint; else echo "aws-sam-cli not installed (make build installs it): skipping sam validate --lint"; fi
	$(BIN)/bandit -q -r layers/core/aculab_messaging functions simulator local tools -s B101

test: lint
	@echo "make test: $$($(PY) --version) ($(PY))"
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

run: $(STAMP)
	$(PY) -m local

TO ?= 447700900123
FROM ?= 447700900001
TEXT ?= Hello from the local stack
# make inbound: the mobile PHONE that sends, and our NUMBER that receives
PHONE ?= 447700900123
NUMBER ?= 447700900001
LOCAL_AWS = AWS_DEFAULT_REGION=eu-west-1 AWS_ACCESS_KEY_ID="$$(cat .local-stack/aws_access_key_id)" \
	AWS_SECRET_ACCESS_KEY="$$(cat .local-stack/aws_secret_access_key)"
# AT=+2m (or an ISO 8601 time with offset): a scheduled send; VALID_FOR=300: never sent after 5 minutes
AT ?=
VALID_FOR ?=
send: $(STAMP)
	@test -f .local-stack/queue_url || { echo "start the local stack first: make run"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m aculab_messaging.producer --queue-url "$$(cat .local-stack/queue_url)" \
		--endpoint-url "$$(cat .local-stack/endpoint_url)" sms --to "$(TO)" --from "$(FROM)" --text "$(TEXT)" --delivery-report \
		$(if $(AT),--at "$(AT)") $(if $(VALID_FOR),--valid-for "$(VALID_FOR)")

cancel: $(STAMP)
	@test -f .local-stack/queue_url || { echo "start the local stack first: make run"; exit 1; }
	@test -n "$(ID)" || { echo "usage: make cancel ID=<message_id>"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m aculab_messaging.producer --queue-url "$$(cat .local-stack/queue_url)" \
		--endpoint-url "$$(cat .local-stack/endpoint_url)" cancel --message-id "$(ID)"

ID ?=
status: $(STAMP)
	@test -f .local-stack/messages_url || { echo "start the local stack first: make run"; exit 1; }
	@test -n "$(ID)" || { echo "usage: make status ID=<message_id>"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m aculab_messaging.status_client --api-url "$$(cat .local-stack/messages_url)" "$(ID)"

# make inbound MEDIA="photo.png clip.mp4": an MMS whose files the media function archives
MEDIA ?=
inbound: $(STAMP)
	@$(PY) -m local.phone --from "$(PHONE)" --to "$(NUMBER)" --text "$(TEXT)" $(foreach m,$(MEDIA),--media "$(m)")

rotate-webhook-password: $(STAMP)
	@test -f .local-stack/webhook_secret_arn || { echo "start the local stack first: make run"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m tools.rotate_webhook_password --secret-id "$$(cat .local-stack/webhook_secret_arn)" \
		--endpoint-url "$$(cat .local-stack/endpoint_url)"

bench: $(STAMP)
	$(PY) -m bench

soak: $(STAMP)
	@# the figures and the verdict only; make fails when a test does (a pipe into grep would hide it)
	@$(BIN)/pytest tests/reliability --soak -s -q $(PYTEST_ARGS) > .soak.log 2>&1; status=$$?; \
	grep -E "^FIGURE|passed|failed|Error" .soak.log; echo "full output: .soak.log"; exit $$status

audit: $(STAMP)
	$(BIN)/pip-audit --no-deps --disable-pip --strict -r layers/core/requirements.txt --progress-spinner off

# aws-sam-cli lives in its own virtualenv: it pins versions the dev tools must not share
SAM_VENV := .venv-sam
SAM := $(shell command -v sam 2>/dev/null || echo $(SAM_VENV)/bin/sam)

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0

build: $(SAM)
	@python3.13 --version >/dev/null 2>&1 || { echo "sam build needs python3.13 on PATH (pyenv: PYENV_VERSION=3.11.7:3.13.0)"; exit 1; }
	SAM_CLI_TELEMETRY=0 $(SAM) build

lock: $(STAMP)
	$(PY) tools/lock_layer.py
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet -r requirements-dev.in
	(echo "# Generated by 'make lock' from requirements-dev.in (python 3.11). Every package pinned."; \
	 /tmp/lock-venv/bin/pip freeze) > requirements-dev.txt

schemas: $(STAMP)
	$(PY) -m aculab_messaging.contracts.schemas schemas

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) build .aws-sam .local-stack .pytest_cache .mypy_cache .ruff_cache
