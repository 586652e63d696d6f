# Every command the README names. Needs only python3 (with venv) and make:
# the first target that needs them creates .venv and installs everything.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# pyproject.toml keeps torch loose so that Colab's own torch is used there;
# here we pin the CPU build (an unpinned torch would pull a multi-GB CUDA build).
TORCH  ?= torch==2.13.0
JB_FLAGS := -W -n --keep-going
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with book/sanitize.cfg


.PHONY: tune install book test test-unit test-notebooks test-browser test-colab test-oldest execute sweep bench tables clean

$(VENV)/.installed: pyproject.toml Makefile
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install it with: apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[book,test,bench]"
	@touch $@

install: $(VENV)/.installed

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
	$(BIN)/python benchmarks/rnn_sampling.py
	$(BIN)/python benchmarks/efficiency.py
	$(BIN)/python benchmarks/ddp_scaling.py

## tables: regenerate the benchmark tables that chapters 5, 6 and 7 read (book/*/results;
## many hours on 2 cores; each line can be run alone)
tables: install
	$(BIN)/python -m genlab.bench ring --seeds 10 --threads 1 --out book/05_analysis/results --overwrite
	$(BIN)/python -m genlab.bench grid --seeds 10 --threads 1 --out book/05_analysis/results --overwrite
	$(BIN)/python -m genlab.bench stacked-digits --seeds 3 --models DCGAN PacDCGAN2 VAE --threads 1 --out book/05_analysis/results --overwrite
	$(BIN)/python -m genlab.bench sines --seeds 3 --threads 1 --out book/05_analysis/results --overwrite
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
