# `make demo` and `make test` set everything up on a fresh machine: .venv is created when missing and
# the project is (re)installed into it only when pyproject.toml changed since the last install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# tesseract and a language pack per script of the registry's cities (OCR of scanned PDFs); catdoc reads the
# legacy Word and PowerPoint formats
OCR_PACKS := chi-sim chi-tra ara jpn kor rus fra deu spa por tur tha hin urd fas ell ind vie
SYSTEM_PACKAGES := chromium fonts-noto-cjk fonts-noto-core poppler-utils tesseract-ocr catdoc \
	$(addprefix tesseract-ocr-,$(OCR_PACKS))

.PHONY: demo test lint install system clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages: Chromium for the browser test and the sample's PDFs, CJK/Arabic fonts for charts, OCR.
# Installed when any of them is missing (fewer of them than listed are "install ok installed").
system:
	@if ! dpkg-query -W -f='$${Status}\n' $(SYSTEM_PACKAGES) 2>/dev/null | grep -c "install ok installed" \
			| grep -qx "$(words $(SYSTEM_PACKAGES))"; then \
		echo "installing $(SYSTEM_PACKAGES) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

demo: install system
	$(BIN)/python -m app.demo

# the gates `.ci/run` passes before the tests: one-way layers, lint, types (configured in pyproject.toml)
lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install system
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) data

include llm.mk
