VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(VENV)/bin/troly serve

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/matcher_speed.py
	$(PY) bench/external_accuracy.py
	$(PY) bench/webhook_speed.py --quick
	$(PY) bench/handoff_speed.py --count 100

clean:
	rm -rf $(VENV) data/troly.db
