# The two commands: `make run` (local stack) and `make test` (lint + all tests).
# Both create .venv themselves from the pinned requirements-dev.txt.

# Lambda runs python3.13, and so do the virtualenvs, the tests and the lint: found on PATH or among
# pyenv's installed versions (the code uses 3.13's standard library: itertools.batched, tomllib).
PYTHON ?= $(shell for p in python3.13 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null \
	| sort -V | tail -n 1); do "$$p" -c "" >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY := $(BIN)/python
PYTEST_ARGS ?=
export PYTHONPATH := $(CURDIR)/layers/core:$(CURDIR)

.PHONY: help venv lint test unit integration run send cancel status inbound erase rotate-webhook-password bench soak audit build cfn lock clean schemas deploy python313 smoke

help:
	@echo "Every target (the local ones need \`make run\` going in another terminal):"
	@echo "  make run      the local stack: moto server, Aculab simulator, the six functions, the event tail"
	@echo "  make run ENV='ALLOWED_COUNTRIES=GB COUNTRY_SENDS_PER_HOUR=2'   the functions' variables, not the defaults"
	@echo "  make send TO=447700900123 TEXT='hello'   put a message on the local queue"
	@echo "  make send ... AT=+2m VALID_FOR=300       scheduled (AT: +90s, +2m, +1h, +1d or ISO 8601 with offset),"
	@echo "                                           never sent after 5 minutes"
	@echo "  make send ... SMART=on                    curly quotes, dashes, ellipses sent as GSM-7 (smart encoding)"
	@echo "  make send ... QUIET=21:00-08:00           not sent in the recipient's night (its local time): waits"
	@echo "  make send ... CAMPAIGN=spring CAMPAIGN_RATE=2   one of a campaign, at most 2 of its sends a second"
	@echo "  make cancel ID=<message_id>   cancel it, whatever stage it is at (the outcome shows as an event)"
	@echo "  make cancel CAMPAIGN=spring   cancel every message of the campaign not yet at Aculab"
	@echo "  make status ID=<message_id>   its status, parts and timeline (GET /messages/{id}, SigV4)"
	@echo "  make status CAMPAIGN=spring   the campaign's messages counted by status (GET /campaigns/{id})"
	@echo "  make inbound PHONE=447700900123 TEXT=STOP   a simulated phone texts our NUMBER (MEDIA=files: an MMS)"
	@echo "  make erase PHONE=447700900123  erase a number: its messages, refs, inbound messages, media (its opt-out stays)"
	@echo "  make rotate-webhook-password  a new webhook password in the local stack's secret"
	@echo "  make test     lint and every test (unit, integration, bounded reliability suite): ~10 minutes alone, ~20 beside another"
	@echo "  make lint     ruff, mypy, cfn-lint, checkov, bandit (and sam validate --lint once make build installed sam)"
	@echo "  make unit     the unit tests;  make integration  the integration tests"
	@echo "  make bench    benchmarks with targets;  make soak  the full reliability counts"
	@echo "  make audit    pip-audit of the layer's pinned runtime dependencies (needs PyPI's JSON API)"
	@echo "  make build    sam build (installs aws-sam-cli into .venv-sam; needs Python 3.13)"
	@echo "  make deploy   make build, then sam deploy (guided the first time; GUIDED=1 asks again)"
	@echo "  make smoke    check a deployed stack end to end from its outputs (STACK=name; SMOKE_TO=number: a real SMS)"
	@echo "  make python313  check that Python 3.13 (Lambda's runtime) is found (make build and deploy do)"
	@echo "  make cfn      the template translated to CloudFormation (build/template.cfn.json)"
	@echo "  make schemas  the JSON Schemas of the queue messages and events (schemas/)"
	@echo "  make lock     pin requirements-dev.txt and the layer's requirements again"
	@echo "  make venv     create .venv from requirements-dev.txt (every target does when needed)"
	@echo "  make clean    remove the virtualenvs, build output and caches, and .local-stack/"
	@echo "  make help     this list"

$(STAMP): requirements-dev.txt layers/core/requirements.txt | python313
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import sys; sys.exit(sys.version_info[:2] != (3, 13))" || { \
		echo "$(VENV) uses $$($(PY) --version), not Python 3.13: make clean, then again"; exit 1; }
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

# the two virtualenvs installed side by side, then lint's steps at once (mypy, the longest, takes ~20 s
# from a cold cache; the rest together about as long); --output-sync keeps each step's output in one piece
LINT_STEPS := lint-ruff lint-mypy lint-cfn lint-cfn-translated lint-checkov lint-sam lint-bandit
.PHONY: $(LINT_STEPS)
lint:
	@$(MAKE) --no-print-directory -j 2 $(STAMP) $(CHECKOV_STAMP)
	@$(MAKE) --no-print-directory -j 4 --output-sync=target $(LINT_STEPS)

lint-ruff:
	$(BIN)/ruff check .
lint-mypy:
	$(BIN)/mypy
lint-cfn:
	$(BIN)/cfn-lint template.yaml
lint-cfn-translated: build/template.cfn.json
	$(BIN)/cfn-lint build/template.cfn.json
lint-checkov: build/template.cfn.json
	$(CHECKOV_VENV)/bin/checkov -f build/template.cfn.json --framework cloudformation --quiet --compact --skip-download
lint-sam:
	@if [ -x "$(SAM)" ]; then SAM_CLI_TELEMETRY=0 $(SAM) validate --lint; else echo "aws-sam-cli not installed (make build installs it): skipping sam validate --lint"; fi
lint-bandit:
	$(BIN)/bandit -q -r layers/core/aculab_messaging functions simulator local tools -s B101

# the tests in 4 pytest-xdist workers, each with its own moto server and simulator (on 2 cores: many tests
# wait on a pace, a simulator's step or a server; 4 took 6 min 26 s where 3 took 8 min 9 s, 1.59 GB summed);
# the tests that start `make run` (they share .local-stack/) one at a time, by a file lock (tests/conftest.py).
# TEST_WORKERS=0: in this process.
TEST_WORKERS ?= 4
PARALLEL = -n $(TEST_WORKERS) --dist load

test: lint
	@echo "make test: $$($(PY) --version) ($(PY))"
	$(BIN)/pytest $(PARALLEL) $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PARALLEL) $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest tests/integration $(PARALLEL) $(PYTEST_ARGS)

# ACULAB_URL=https://ws.aculabcloud.net: the functions call that endpoint, no simulator (credentials from
# the environment: ACULAB_CLOUD_ID, ACULAB_USERNAME, ACULAB_API_KEY)
ACULAB_URL ?=
# ENV="ALLOWED_COUNTRIES=GB COUNTRY_SENDS_PER_HOUR=2": the functions' variables instead of the defaults
ENV ?=
run: $(STAMP)
	$(PY) -m local $(if $(ACULAB_URL),--aculab-url "$(ACULAB_URL)") $(foreach e,$(ENV),--env "$(e)")

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
# SMART=on: look-alikes (curly quotes, long dashes, ...) sent as their GSM-7 equivalents (off: as written)
SMART ?=
# QUIET=21:00-08:00: not sent in those hours of the recipient's local time (off: not even the stack's)
QUIET ?=
# CAMPAIGN=spring: one of a campaign (make cancel / make status CAMPAIGN=spring); CAMPAIGN_RATE=2: its pace
CAMPAIGN ?=
CAMPAIGN_RATE ?=
send: $(STAMP)
	@test -f .local-stack/queue_url || { echo "start the local stack first: make run"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m tools.producer --queue-url "$$(cat .local-stack/queue_url)" \
		--endpoint-url "$$(cat .local-stack/endpoint_url)" sms --to "$(TO)" --from "$(FROM)" --text "$(TEXT)" --delivery-report \
		$(if $(AT),--at "$(AT)") $(if $(VALID_FOR),--valid-for "$(VALID_FOR)") $(if $(SMART),--smart-encoding "$(SMART)") \
		$(if $(QUIET),--quiet-hours "$(QUIET)") $(if $(CAMPAIGN),--campaign "$(CAMPAIGN)") \
		$(if $(CAMPAIGN_RATE),--campaign-rate "$(CAMPAIGN_RATE)")

cancel: $(STAMP)
	@test -f .local-stack/queue_url || { echo "start the local stack first: make run"; exit 1; }
	@test -n "$(ID)$(CAMPAIGN)" || { echo "usage: make cancel ID=<message_id>, or CAMPAIGN=<campaign_id>"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m tools.producer --queue-url "$$(cat .local-stack/queue_url)" \
		--endpoint-url "$$(cat .local-stack/endpoint_url)" cancel \
		$(if $(CAMPAIGN),--campaign "$(CAMPAIGN)",--message-id "$(ID)")

ID ?=
status: $(STAMP)
	@test -f .local-stack/messages_url || { echo "start the local stack first: make run"; exit 1; }
	@test -n "$(ID)$(CAMPAIGN)" || { echo "usage: make status ID=<message_id>, or CAMPAIGN=<campaign_id>"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m tools.status_client --api-url "$$(cat .local-stack/messages_url)" \
		$(if $(CAMPAIGN),--campaign "$(CAMPAIGN)","$(ID)")

# make smoke: a deployed stack checked end to end from its outputs (STACK: samconfig.toml's stack_name if not
# given); SMOKE_TO=<a mobile> SMOKE_FROM=<one of your Aculab numbers>: a real SMS too, followed to its end
STACK ?= $(shell $(PY) -c "import tomllib; print(tomllib.load(open('samconfig.toml', 'rb')).get('default', {}) \
	.get('deploy', {}).get('parameters', {}).get('stack_name', ''))" 2>/dev/null)
SMOKE_TO ?=
SMOKE_FROM ?=
smoke: $(STAMP)
	@test -n "$(STACK)" || { echo "usage: make smoke STACK=<the deployed stack's name> [SMOKE_TO=... SMOKE_FROM=...]"; exit 1; }
	@$(PY) -m tools.smoke --stack "$(STACK)" $(if $(SMOKE_TO),--to "$(SMOKE_TO)" --from "$(SMOKE_FROM)")

# make inbound MEDIA="photo.png clip.mp4": an MMS whose files the media function archives
MEDIA ?=
inbound: $(STAMP)
	@$(PY) -m local.phone --from "$(PHONE)" --to "$(NUMBER)" --text "$(TEXT)" $(foreach m,$(MEDIA),--media "$(m)")

# make erase PHONE=...: the erase function invoked through the local stack's Lambda API, as an operator invokes
# it (aws lambda invoke) on a deployed stack; PHONE must be given (its default is make inbound's)
erase: $(STAMP)
	@test -f .local-stack/lambda_url || { echo "start the local stack first: make run"; exit 1; }
	@test "$(origin PHONE)" != "file" || { echo "usage: make erase PHONE=<the number to erase>"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m tools.erase --function-name "$$(cat .local-stack/erase_function)" --phone "$(PHONE)" \
		--endpoint-url "$$(cat .local-stack/lambda_url)"

rotate-webhook-password: $(STAMP)
	@test -f .local-stack/webhook_secret_arn || { echo "start the local stack first: make run"; exit 1; }
	@$(LOCAL_AWS) $(PY) -m tools.rotate_webhook_password --secret-id "$$(cat .local-stack/webhook_secret_arn)" \
		--endpoint-url "$$(cat .local-stack/endpoint_url)"

bench: $(STAMP)
	$(PY) -m bench

soak: $(STAMP)
	@# the figures and the verdict only; make fails when a test does (a pipe into grep would hide it)
	@$(BIN)/pytest tests/reliability tests/unit/test_lifecycle_model.py --soak -s -q $(PYTEST_ARGS) > .soak.log 2>&1; \
	status=$$?; \
	grep -E "^FIGURE|passed|failed|Error" .soak.log; echo "full output: .soak.log"; exit $$status

audit: $(STAMP)
	$(BIN)/pip-audit --no-deps --disable-pip --strict -r layers/core/requirements.txt --progress-spinner off

# aws-sam-cli lives in its own virtualenv (the project's pinned version, whatever sam is on PATH): it pins
# versions the dev tools must not share. sam build needs python3.13 (Lambda's runtime): PYTHON, found above
# on PATH or among pyenv's versions, is put first on its PATH.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_PATH := PATH="$(dir $(PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0
# make deploy: guided (asks every parameter, saves the answers) until samconfig.toml holds this stack's
# settings, i.e. until a guided deploy saved stack_name into [default.deploy.parameters]; GUIDED=1 asks again
GUIDED ?=
DEPLOYED_BEFORE = $(SAM_VENV)/bin/python -c "import sys, tomllib; \
	c = tomllib.load(open('samconfig.toml', 'rb')); \
	sys.exit(0 if c.get('default', {}).get('deploy', {}).get('parameters', {}).get('stack_name') else 1)"

python313:
	@"$(PYTHON)" -c "import sys; sys.exit(sys.version_info[:2] != (3, 13))" >/dev/null 2>&1 || { \
		echo "Python 3.13 (Lambda's runtime) is needed, and none is on PATH or in pyenv: pyenv install 3.13"; \
		exit 1; }

$(SAM_VENV)/bin/sam: | python313
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0

build: python313 $(SAM)
	$(SAM_PATH) $(SAM) build

deploy: build
	@if [ -z "$(GUIDED)" ] && $(DEPLOYED_BEFORE); then \
		echo "sam deploy with samconfig.toml's saved answers (make deploy GUIDED=1 to answer again)"; \
		$(SAM_PATH) $(SAM) deploy; \
	else \
		$(SAM_VENV)/bin/python tools/deploy_guide.py template.yaml && $(SAM_PATH) $(SAM) deploy --guided; \
	fi

lock: $(STAMP)
	$(PY) tools/lock_layer.py
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet -r requirements-dev.in
	(echo "# Generated by 'make lock' from requirements-dev.in (python 3.13). Every package pinned."; \
	 /tmp/lock-venv/bin/pip freeze) > requirements-dev.txt

schemas: $(STAMP)
	$(PY) -m aculab_messaging.contracts.schemas schemas

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) build .aws-sam .local-stack .pytest_cache .mypy_cache .ruff_cache
