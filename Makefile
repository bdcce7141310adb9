# make demo   set-up, then a real offload job on the local Docker worker
# make test   set-up, then every test (what CI runs)
# make bench  set-up, then the benchmarks
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
COLLECTION := .build/collections/ansible_collections/gcli/offload
DEMO := $(CURDIR)/.build/demo

.PHONY: setup demo test lint sanity changelog-lint ansible-lint unit emulator integration molecule bench images clean distclean

setup: .build/apt.stamp $(VENV)/.stamp $(COLLECTION) images

.build/apt.stamp: tests/setup/apt-deps
	tests/setup/apt-deps
	mkdir -p .build && touch $@

$(VENV)/.stamp: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(COLLECTION):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

images: .build/apt.stamp
	tests/images/build base demo-job worker

demo: setup
	tests/fixtures/make-upstream $(DEMO)/upstream.git
	OFFLOAD_DATA_ROOT=$(DEMO)/data ansible-playbook offload.yml -e pr=1

test: setup
	$(MAKE) --no-print-directory lint unit emulator integration molecule

lint: ansible-lint sanity changelog-lint
	shellcheck docker/offload-entrypoint plugins/plugin_utils/scripts/*.sh tests/images/build tests/setup/apt-deps tests/fixtures/make-upstream \
	  tests/emulator/run tests/sanity/run tests/setup/fresh-state .ci/run tests/images/cos-vm/cos-boot \
	  tests/images/cos-vm/docker-credential-gcr plugins/plugin_utils/scripts/*.sh
	hadolint docker/Dockerfile.maintainer docker/demo/Dockerfile tests/images/*/Dockerfile

ansible-lint:
	ansible-lint --offline

sanity:
	tests/sanity/run

changelog-lint:
	antsibull-changelog lint
	antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

unit: setup
	python -m pytest -q tests/unit

# the emulator's own tests: its units, its API through requests, the client library and gcloud
emulator: setup
	python -m pytest -q tests/emulator

# Each test builds the images it runs (tests/integration/fixtures_images.py).
integration: setup
	python -m pytest -q tests/integration

bench: setup
	python bench/run.py

molecule: setup
	for s in $$(cd molecule && ls */molecule.yml | xargs -n1 dirname); do molecule test -s $$s; done

clean:
	-docker rm -f $$(docker ps -aq --filter label=gcli.offload.managed=true) 2>/dev/null
	rm -rf .build

# clean, and the project's images too: the state of a fresh machine (what CI starts from)
distclean:
	tests/setup/fresh-state
