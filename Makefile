# Every command the README names. Needs only python3 (with venv) and make:
# the first target that needs them creates .venv and installs everything.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The environment is installed from requirements-lock.txt: every package at one version, each
# file checked against its hash (`make lock` recompiles it from pyproject.toml and
# requirements-lock.in). The lock holds PyTorch's CPU build (an unpinned torch would pull a
# multi-GB CUDA build); TORCH=torch==2.5.1, say, installs another torch over it.
LOCK   := requirements-lock.txt
TORCH  ?=
JB_FLAGS := -W -n --keep-going
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with book/sanitize.cfg

.PHONY: tune install lock book test test-unit test-fast test-notebooks test-browser test-colab test-oldest test-latest test-pythons execute sweep bench tables clean

$(VENV)/.installed: pyproject.toml $(LOCK) Makefile
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install it with: apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@if [ -n "$(TORCH)" ]; then $(BIN)/python -m pip install --quiet "$(TORCH)"; fi
	$(BIN)/python -m pip check
	@touch $@

install: $(VENV)/.installed

## lock: recompile requirements-lock.txt (newest versions pyproject.toml allows, every extra, with hashes) with uv,
## kept in its own environment .venv-lock. PyTorch's CPU build comes from the folders in
## PIP_FIND_LINKS where it is set, else from PyTorch's CPU index.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
LOCK_SOURCES ?= $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),--extra-index-url $(TORCH_CPU_INDEX) --index-strategy unsafe-best-match)
lock:
	@test -x .venv-lock/bin/uv || { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/python -m pip install --quiet uv; }
	.venv-lock/bin/uv pip compile pyproject.toml requirements-lock.in --all-extras \
	  --generate-hashes --python-version 3.11 --no-header $(LOCK_SOURCES) -o $(LOCK)

## book: build the HTML book into _build/html (notebooks are not re-executed)
book: install
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "open _build/html/index.html"

## test: unit tests (the book build among them), every notebook under nbval (with per-notebook
## times), every page of the built book in headless Chromium when Chromium is installed, and
## the Colab path simulated
test: test-unit test-notebooks test-browser test-colab

test-unit: install
	$(BIN)/python -m pytest -q tests --ignore=tests/e2e --ignore=tests/colab

## test-fast: the unit tests a developer runs often, side by side on every core, leaving out
## only the marked ones: slow (book builds, torchrun, fresh environments, long training) and
## statistical (bounds on trained numbers: run by test-unit and swept by `make sweep`)
test-fast: install
	$(BIN)/python -m pytest -q -n auto -m "not slow and not statistical" tests --ignore=tests/e2e --ignore=tests/colab

## test-colab: build genlab's wheel and sdist, then in fresh virtual environments with torch
## (and Jupyter) but no genlab: import it with its declared dependencies only, and run one
## notebook of every chapter through its own install cell (GENLAB_SOURCE = the wheel).
## Needs the package index (pip's cache is used where it can be).
test-colab: install
	$(BIN)/python -m pytest -q tests/colab

## test-notebooks: the notebooks side by side, one per core (pytest-xdist; each notebook's cells stay
## together in one worker), one thread each
test-notebooks: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --dist loadscope $(NBVAL_FLAGS) book

## test-browser: build the book, then open every page in headless Chromium (Debian's `chromium`
## package, or the executable GENLAB_CHROMIUM names); screenshots go to _build/screenshots/
CHROMIUM ?= $(or $(GENLAB_CHROMIUM),$(shell command -v chromium || command -v chromium-browser || command -v google-chrome))
test-browser: install
	@if [ -z "$(CHROMIUM)" ]; then \
	  echo "test-browser: NOT RUN: no Chromium found. Install it (apt-get install chromium) or set GENLAB_CHROMIUM."; \
	else \
	  $(MAKE) --no-print-directory book && GENLAB_CHROMIUM="$(CHROMIUM)" $(BIN)/python -m pytest -q tests/e2e; \
	fi

## test-oldest: the unit tests in a separate environment (.venv-oldest) with the oldest versions
## pyproject.toml claims (constraints-oldest.txt: torch 2.4.0, numpy 1.24, ...). Not part of
## `make test`: torch 2.4.0 exists on the package index only as a CUDA build of several GB.
OLDEST := .venv-oldest
test-oldest:
	@test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -c constraints-oldest.txt -e ".[book,test]" torch numpy matplotlib tqdm scikit-learn names
	$(OLDEST)/bin/python -c "import torch, numpy, matplotlib, sklearn; print('torch', torch.__version__, 'numpy', numpy.__version__, 'matplotlib', matplotlib.__version__, 'scikit-learn', sklearn.__version__)"
	$(OLDEST)/bin/python -m pytest -q tests --ignore=tests/e2e --ignore=tests/colab

## test-latest: the unit tests (the book build among them) in a fresh environment .venv-latest
## with the newest version of everything pyproject.toml allows, torch included, instead of the
## lock; first it prints each package whose newest version differs from the lock. Not part of
## `make test`: run it by hand or on a schedule (.github/workflows/latest.yml), to learn early
## what a new release of a dependency breaks.
LATEST := .venv-latest
TORCH_LATEST ?= torch
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager "$(TORCH_LATEST)" -e ".[book,test]"
	$(LATEST)/bin/python scripts/lock_drift.py $(LOCK)
	$(LATEST)/bin/python -m pytest -q tests --ignore=tests/e2e --ignore=tests/colab

## test-pythons: the unit tests on the oldest Python the package claims (3.10) and on Colab's
## (3.12), each in its own environment .venv-pyX.Y made from pyenv's interpreter
## ($(PYENV_ROOT)/versions/X.Y.*), with the newest versions that Python gets. The book, the
## distributed runs, the statistical tests and the checks of the repository's files are left out. Not part of `make test`: the
## package index has only PyTorch's CUDA build for them (several GB; it runs on the CPU).
PYTHONS ?= 3.10 3.12
# The checks of the repository's own files (pyproject.toml, the lock, the release script) read
# TOML with the standard library's tomllib (Python 3.11+); they run with the project's Python.
PYTHONS_SKIP := --ignore=tests/test_packaging.py --ignore=tests/test_lock.py --ignore=tests/test_release.py
PYENV_ROOT ?= $(HOME)/.pyenv
test-pythons:
	@set -e; for v in $(PYTHONS); do \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python3 2>/dev/null | sort -V | tail -1); \
	  if [ -z "$$py" ]; then echo "test-pythons: no Python $$v in $(PYENV_ROOT)/versions; install it with: pyenv install $$v" >&2; exit 1; fi; \
	  echo "== Python $$v: $$py"; \
	  test -x .venv-py$$v/bin/python || $$py -m venv .venv-py$$v; \
	  .venv-py$$v/bin/python -m pip install --quiet --upgrade pip; \
	  .venv-py$$v/bin/python -m pip install --quiet torch -e ".[test]"; \
	  .venv-py$$v/bin/python -c "import sys, torch, numpy; print('python', sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__)"; \
	  .venv-py$$v/bin/python -m pytest -q tests --ignore=tests/e2e --ignore=tests/colab --ignore=tests/distributed \
	    --ignore=tests/test_book.py --ignore=tests/test_distributed.py $(PYTHONS_SKIP) -m "not statistical"; \
	done

## execute: re-run every notebook in place, in order, each from a clean kernel
execute: install
	$(BIN)/python scripts/execute_notebooks.py book

## sweep: execute every notebook with SEED = 0..9 (even seeds on 1 thread, odd on 2) and the
## statistical unit tests likewise; record every assert; write book/appendix/checks.md.
## Only runs whose code changed are repeated (about 2 hours on 2 cores from scratch).
sweep: install
	$(BIN)/python scripts/sweep.py book --tests --runs 10

## bench: the benchmarks under benchmarks/
bench: install
	$(BIN)/python benchmarks/fit_overhead.py
	$(BIN)/python benchmarks/sequence_models.py
	$(BIN)/python benchmarks/rnn_sampling.py
	$(BIN)/python benchmarks/efficiency.py
	$(BIN)/python benchmarks/ddp_scaling.py

## tables: regenerate the benchmark tables that chapters 5, 6 and 7 read (book/*/results;
## many hours on 2 cores; each line can be run alone)
tables: install
	$(BIN)/python -m genlab.bench ring --seeds 10 --threads 1 --out book/05_analysis/results --overwrite
	$(BIN)/python -m genlab.bench grid --seeds 10 --threads 1 --out book/05_analysis/results --overwrite
	$(BIN)/python -m genlab.bench stacked-digits --seeds 3 --models DCGAN PacDCGAN2 VAE --threads 1 --out book/05_analysis/results --overwrite
	$(BIN)/python benchmarks/wgan_budget.py --seeds 3 --out book/05_analysis/results/wgan_budget.json --overwrite
	$(BIN)/python -m genlab.bench digits --seeds 10 --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench fashion --seeds 3 --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench ring --seeds 10 --models VAE-GAN AAE BiGAN ALI MDN-RNN --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench grid --seeds 10 --models VAE-GAN AAE BiGAN ALI MDN-RNN --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench sines --seeds 10 --models SequenceRNN VRNN C-RNN-GAN RCGAN "RCGAN, noise per sequence" TimeGAN --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench sines --seeds 10 --no-references --models "TimeGAN without supervised loss" "TimeGAN without embedding" "TimeGAN without joint training" --threads 1 --out book/07_combining/results --resume
	$(BIN)/python -m genlab.bench digit-rows --seeds 10 --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench co2 --seeds 10 --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench names --seeds 10 --threads 1 --out book/07_combining/results --overwrite
	$(BIN)/python -m genlab.bench grid --seeds 10 --models "GAN, hinge" "GAN, spectral norm" "GAN, TTUR" "GAN, R1" DDPM --threads 1 --out book/06_future/results --overwrite
	$(BIN)/python -m genlab.bench ring --seeds 10 --models DDPM --threads 1 --out book/06_future/results --overwrite
	$(BIN)/python -m genlab.bench digits --seeds 10 --models "DCGAN, hinge" "DCGAN, spectral norm" "DCGAN, TTUR" "DCGAN, R1" "DCGAN, WGAN-GP" --threads 1 --out book/06_future/results --overwrite

## tune: the hyper-parameter searches behind the tuned rows (book/appendix/tuning.md): the same
## number of trials for every row, two single-thread workers per study; resumable (run it again)
TUNING := book/05_analysis/results/tuning
tune: install
	$(BIN)/python -m genlab.bench tune ring --models VAE-GAN AAE BiGAN ALI GAN VAE --trials 12 --workers 2 --out $(TUNING)
	$(BIN)/python -m genlab.bench tune grid --models VAE-GAN AAE BiGAN ALI GAN VAE --trials 12 --workers 2 --out $(TUNING)
	$(BIN)/python -m genlab.bench tune digits --models VAE-GAN DCGAN VAE cGAN CVAE --trials 8 --workers 2 --out $(TUNING)
	$(BIN)/python -m genlab.bench tune ring --models PacGAN2 PacGAN4 WGAN-GP "GAN, hinge" "GAN, spectral norm" "GAN, TTUR" "GAN, R1" DDPM --trials 12 --workers 2 --out $(TUNING)
	$(BIN)/python -m genlab.bench tune grid --models PacGAN2 PacGAN4 WGAN-GP "GAN, hinge" "GAN, spectral norm" "GAN, TTUR" "GAN, R1" DDPM --trials 12 --workers 2 --out $(TUNING)
	$(BIN)/python -m genlab.bench tune digits --models "DCGAN, hinge" "DCGAN, spectral norm" "DCGAN, TTUR" "DCGAN, R1" "DCGAN, WGAN-GP" --trials 8 --workers 2 --out $(TUNING)

clean:
	rm -rf _build .pytest_cache
