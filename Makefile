# Each target creates .venv and installs what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/textauto train data/train.csv --test data/test.csv --time-budget 60 --out runs/demo
	$(BIN)/textauto evaluate runs/demo data/test.csv
	$(BIN)/textauto predict runs/demo data/test.csv -o runs/demo/test_predictions.csv
# the screenshot needs headless Chromium; without one, say why and go on
	@if why=$$($(BIN)/python -c 'import sys; from textauto.report.browser import unavailable; sys.exit(unavailable())' 2>&1); then \
		$(BIN)/textauto report runs/demo --screenshot; \
	else \
		echo "screenshot skipped: $$why"; \
	fi
	@echo "model, manifest, leaderboard and report are in runs/demo/; open runs/demo/report.html"
	@echo "report: $(abspath runs/demo/report.html)"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) runs .pytest_cache
