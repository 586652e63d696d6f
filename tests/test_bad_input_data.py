"""A catalogue of bad input for the data, metrics, imputation and plotting functions.

Each row is one kind of mistake: a call that makes it, the exception it must raise, and a
regular expression its message must match. Every regex names the argument at fault, so a
message that only says "invalid value" fails the row. None of the calls trains anything:
each check must fire before any real work starts.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch.utils.data import TensorDataset

from genlab import imputation as imp
from genlab import viz
from genlab.data import (
    GaussianMixture2D,
    Scaler,
    Vocabulary,
    adding_problem,
    chronological_split,
    co2,
    copy_task,
    digits,
    encode_corpus,
    grid,
    load_idx_dataset,
    names_corpus,
    read_idx,
    ring,
    sines,
    split,
    split_names,
    stacked_digits,
    windows,
)
from genlab.data.idx import search_paths
from genlab.data.stacked import mode_index
from genlab.metrics import (
    DigitClassifier,
    discriminative_score,
    energy_distance,
    frechet_distance,
    frechet_distance_from_moments,
    gaussian_blur,
    image_scores,
    mixture_mmd,
    mmd,
    mode_coverage,
    precision_recall,
    predictive_score,
    repeat_score,
    sharpness,
    split_halves,
    stacked_modes,
)
from genlab.metrics.classifier import classifier_network, digit_classifier, train_digit_classifier
from genlab.metrics.modes import core_fraction, kl_to_uniform, truncated_rms
from genlab.metrics.sequences import PostHocGRU
from genlab.metrics.stacked import classify_stacked

NAN, INF = math.nan, math.inf

# Small valid inputs that the rows below spoil one at a time.
POINTS = torch.zeros(6, 2)
X = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
Y = torch.randn(7, 3, generator=torch.Generator().manual_seed(1))
DIGITS = torch.zeros(6, 1, 8, 8)
STACKED = torch.zeros(2, 3, 8, 8)
SEQUENCES = torch.rand(10, 6, 3, generator=torch.Generator().manual_seed(2))
SERIES = torch.arange(10.0)
LINE = torch.arange(10.0).view(1, 10, 1).repeat(2, 1, 2)
VOCAB = Vocabulary("abc")


def with_nan(t: torch.Tensor, index=0) -> torch.Tensor:
    """A copy of t with a NaN at `index` (of the flattened tensor)."""
    out = t.clone()
    out.view(-1)[index] = NAN
    return out


def untrained() -> DigitClassifier:
    return DigitClassifier(classifier_network())


def missing_xy():
    """Data (2, 3), a mask with the middle column missing, and complete reference data (3, 3)."""
    x = torch.tensor([[1.0, NAN, 3.0], [4.0, NAN, 6.0]])
    return x, ~torch.isnan(x), torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


# (id, call, exception, regex naming the argument)
CATALOGUE = [
    # --- genlab.data.toy2d --------------------------------------------------------------
    ("ring-n_modes-float", lambda: ring(n_modes=2.5), ValueError, r"n_modes must be a positive integer, got 2\.5"),
    ("ring-n_modes-bool", lambda: ring(n_modes=True), ValueError, r"n_modes must be a positive integer, got True"),
    ("ring-n_modes-zero", lambda: ring(n_modes=0), ValueError, r"n_modes must be a positive integer, got 0"),
    ("ring-n_modes-negative", lambda: ring(n_modes=-3), ValueError, r"n_modes must be a positive integer, got -3"),
    ("ring-radius-nan", lambda: ring(radius=NAN), ValueError, r"radius must be a finite number > 0, got nan"),
    ("ring-radius-inf", lambda: ring(radius=INF), ValueError, r"radius must be a finite number > 0, got inf"),
    ("ring-radius-zero", lambda: ring(radius=0.0), ValueError, r"radius must be a finite number > 0"),
    ("ring-std-nan", lambda: ring(std=NAN), ValueError, r"std must be a finite number > 0, got nan"),
    ("grid-side-float", lambda: grid(side=5.0), ValueError, r"side must be a positive integer, got 5\.0"),
    ("grid-spacing-negative", lambda: grid(spacing=-2.0), ValueError, r"spacing must be a finite number > 0"),
    ("grid-std-inf", lambda: grid(std=INF), ValueError, r"std must be a finite number > 0, got inf"),
    ("mixture-centers-empty", lambda: GaussianMixture2D(torch.zeros(0, 2), 0.1), ValueError, r"centers is empty"),
    ("mixture-centers-nan", lambda: GaussianMixture2D(with_nan(torch.zeros(3, 2)), 0.1), ValueError,
     r"centers contains NaN"),
    ("mixture-centers-shape", lambda: GaussianMixture2D(torch.zeros(3, 3), 0.1), ValueError,
     r"centers must have shape \(K, 2\)"),
    ("mixture-centers-int", lambda: GaussianMixture2D(torch.zeros(3, 2, dtype=torch.long), 0.1), TypeError,
     r"centers must hold floating-point values"),
    ("sample-n-bool", lambda: ring().sample(True, seed=0), ValueError, r"n must be a non-negative integer, got True"),
    ("sample-n-float", lambda: ring().sample(2.5, seed=0), ValueError, r"n must be a non-negative integer, got 2\.5"),
    ("sample-n-negative", lambda: ring().sample(-1, seed=0), ValueError, r"n must be a non-negative integer, got -1"),
    ("sample-seed-float", lambda: ring().sample(5, seed=1.5), ValueError, r"seed must be an integer"),
    ("sample-seed-and-generator", lambda: ring().sample(5, seed=0, generator=torch.Generator()), ValueError,
     r"either seed or generator"),
    ("sample-generator-int", lambda: ring().sample(5, generator=0), TypeError, r"generator must be a torch\.Generator"),
    ("log_prob-x-shape", lambda: ring().log_prob(torch.zeros(3, 3)), ValueError, r"x must have shape \(n, 2\)"),
    ("log_prob-x-int", lambda: ring().log_prob(torch.zeros(3, 2, dtype=torch.long)), TypeError,
     r"x must hold floating-point values"),
    ("log_prob-x-nan", lambda: ring().log_prob(with_nan(POINTS)), ValueError, r"x contains NaN"),
    ("log_prob-x-list", lambda: ring().log_prob([[0.0, 0.0]]), TypeError, r"x must be a torch\.Tensor"),
    # --- genlab.data.images, split ------------------------------------------------------
    ("digits-value_range-other", lambda: digits((0, 255)), ValueError, r"value_range must be \(0, 1\) or \(-1, 1\)"),
    ("digits-value_range-scalar", lambda: digits(5), ValueError, r"value_range must be .*got 5"),
    ("digits-dtype-int", lambda: digits(dtype=torch.long), TypeError, r"dtype must be a floating-point torch\.dtype"),
    ("split-data-list", lambda: split([1.0, 2.0, 3.0]), TypeError, r"data must be a torch\.Tensor or a TensorDataset"),
    ("split-data-0d", lambda: split(torch.tensor(3.0)), ValueError, r"data must have a first axis"),
    ("split-test_fraction-nan", lambda: split(SERIES, NAN), ValueError, r"test_fraction must be a finite number"),
    ("split-test_fraction-above-1", lambda: split(SERIES, 1.5), ValueError,
     r"test_fraction must lie strictly between 0 and 1"),
    ("split-seed-float", lambda: split(SERIES, 0.2, seed=0.5), ValueError, r"seed must be an integer"),
    # --- genlab.data.sequences ----------------------------------------------------------
    ("sines-n-bool", lambda: sines(n=True), ValueError, r"n must be a positive integer, got True"),
    ("sines-length-float", lambda: sines(4, length=2.5), ValueError, r"length must be a positive integer, got 2\.5"),
    ("sines-features-zero", lambda: sines(4, features=0), ValueError, r"features must be a positive integer, got 0"),
    ("sines-seed-str", lambda: sines(4, seed="0"), ValueError, r"seed must be an integer"),
    ("co2-interpolate-str", lambda: co2(interpolate="yes"), ValueError, r"interpolate must be True or False"),
    ("co2-monthly-int", lambda: co2(monthly=1), ValueError, r"monthly must be True or False"),
    ("co2-monthly-without-interpolate", lambda: co2(interpolate=False, monthly=True), ValueError,
     r"monthly=True needs .*interpolate=True"),
    ("windows-length-bool", lambda: windows(SERIES, True), ValueError, r"length must be a positive integer, got True"),
    ("windows-stride-float", lambda: windows(SERIES, 2, 1.5), ValueError, r"stride must be a positive integer"),
    ("windows-series-nan", lambda: windows(with_nan(SERIES, 3), 2), ValueError, r"series contains NaN"),
    ("windows-series-list", lambda: windows([1.0, 2.0, 3.0], 2), TypeError, r"series must be a torch\.Tensor"),
    ("windows-series-bool", lambda: windows(SERIES > 3, 2), TypeError, r"series must hold real numbers"),
    ("chronological_split-fraction-nan", lambda: chronological_split(SERIES, NAN), ValueError,
     r"test_fraction must be a finite number"),
    ("chronological_split-series-0d", lambda: chronological_split(torch.tensor(1.0)), ValueError,
     r"series must have a time axis"),
    ("scaler-kind-unknown", lambda: Scaler("robust"), ValueError, r"unknown scaler kind 'robust'"),
    ("scaler-fit-x-inf", lambda: Scaler().fit(torch.tensor([1.0, INF])), ValueError, r"x contains infinite values"),
    ("scaler-fit-x-int", lambda: Scaler().fit(torch.arange(5)), TypeError, r"x must hold floating-point data"),
    ("scaler-fit-x-empty", lambda: Scaler().fit(torch.zeros(0)), ValueError, r"x is an empty tensor"),
    ("scaler-inverse-y-nan", lambda: Scaler().fit(SERIES).inverse_transform(with_nan(SERIES)), ValueError,
     r"y contains NaN"),
    ("scaler-transform-x-features", lambda: Scaler().fit(torch.zeros(5, 2)).transform(torch.zeros(5, 3)), ValueError,
     r"x must have 2 features"),
    # --- genlab.data.text -----------------------------------------------------------------
    ("vocabulary-characters-ints", lambda: Vocabulary([1, 2]), TypeError, r"characters must be strings"),
    ("vocabulary-characters-long", lambda: Vocabulary(["ab"]), ValueError, r"characters must be single characters"),
    ("vocabulary-characters-number", lambda: Vocabulary(5), TypeError,
     r"characters must be a string or an iterable"),
    ("vocabulary-characters-empty", lambda: Vocabulary(""), ValueError, r"characters is empty"),
    ("from_corpus-texts-ints", lambda: Vocabulary.from_corpus([1, 2]), TypeError, r"texts must hold only strings"),
    ("decode-ids-float", lambda: VOCAB.decode([3, 2.5]), TypeError, r"ids must be integers"),
    ("decode-ids-float-tensor", lambda: VOCAB.decode(torch.tensor([3.0, 4.0])), TypeError,
     r"ids must be an integer tensor"),
    ("decode-ids-out-of-range", lambda: VOCAB.decode([3, 9]), ValueError, r"ids: token id 9 is outside"),
    ("decode-ids-2d", lambda: VOCAB.decode(torch.zeros(2, 2, dtype=torch.long)), ValueError, r"ids must be one row"),
    ("encode-text-number", lambda: VOCAB.encode(5), TypeError, r"text must be a string"),
    ("encode_corpus-texts-str", lambda: encode_corpus("abc", VOCAB), TypeError,
     r"texts must be a sequence of strings, not a single str"),
    ("encode_corpus-vocab-str", lambda: encode_corpus(["ab"], "abc"), TypeError, r"vocab must be a Vocabulary"),
    ("encode_corpus-max_len-float", lambda: encode_corpus(["ab"], VOCAB, max_len=2.5), ValueError,
     r"max_len must be a positive integer, got 2\.5"),
    ("encode_corpus-max_len-bool", lambda: encode_corpus(["a"], VOCAB, max_len=True), ValueError,
     r"max_len must be a positive integer, got True"),
    ("encode_corpus-texts-all-empty", lambda: encode_corpus(["", ""], VOCAB), ValueError,
     r"texts holds only empty strings.*max_len"),
    ("encode_corpus-texts-empty", lambda: encode_corpus([], VOCAB), ValueError, r"texts is empty"),
    ("split_names-names-str", lambda: split_names("anna"), TypeError, r"names must be a sequence of strings"),
    ("names_corpus-kind-unknown", lambda: names_corpus("middle"), ValueError, r"unknown names corpus .*for kind"),
    # --- genlab.data.tasks ----------------------------------------------------------------
    ("adding-n-bool", lambda: adding_problem(True, 10), ValueError, r"n must be an integer ≥ 1, got True"),
    ("adding-length-one", lambda: adding_problem(5, 1), ValueError, r"length must be an integer ≥ 2, got 1"),
    ("adding-seed-float", lambda: adding_problem(5, 10, seed=1.0), ValueError, r"seed must be an integer"),
    ("copy-delay-float", lambda: copy_task(4, 2.5), ValueError, r"delay must be an integer ≥ 1, got 2\.5"),
    ("copy-n_symbols-bool", lambda: copy_task(4, 5, n_symbols=True), ValueError, r"n_symbols must be an integer ≥ 1"),
    ("copy-seed-none", lambda: copy_task(4, 5, seed=None), ValueError, r"seed must be an integer"),
    # --- genlab.data.stacked, idx -----------------------------------------------------------
    ("stacked_digits-n-bool", lambda: stacked_digits(True), ValueError, r"n \(.*\) must be a positive integer"),
    ("stacked_digits-seed-float", lambda: stacked_digits(10, seed=0.5), ValueError, r"seed must be an integer"),
    ("stacked_digits-split-unknown", lambda: stacked_digits(10, split="validation"), ValueError,
     r"split must be one of"),
    ("stacked_digits-value_range", lambda: stacked_digits(10, value_range=(0, 255)), ValueError, r"value_range"),
    ("mode_index-labels-float", lambda: mode_index(torch.zeros(4, 3)), ValueError, r"labels must be integer digits"),
    ("mode_index-labels-range", lambda: mode_index(torch.tensor([[0, 10, 1]])), ValueError,
     r"labels must be integer digits 0\.\.9, got values in \[0, 10\]"),
    ("mode_index-labels-shape", lambda: mode_index(torch.zeros(4, 2, dtype=torch.long)), ValueError,
     r"labels must have shape \(N, 3\)"),
    ("read_idx-path-int", lambda: read_idx(5), TypeError, r"path must be a path"),
    ("search_paths-root-int", lambda: search_paths("mnist", root=5), TypeError, r"root must be a path"),
    ("load_idx-name-unknown", lambda: load_idx_dataset("cifar"), ValueError, r"unknown IDX dataset 'cifar'.*name"),
    ("load_idx-split-unknown", lambda: load_idx_dataset(split="valid"), ValueError, r"unknown split 'valid'.*split"),
    ("load_idx-dtype-int", lambda: load_idx_dataset(dtype=torch.uint8), TypeError, r"dtype must be a floating-point"),
    # --- genlab.metrics.modes -------------------------------------------------------------
    ("mode_coverage-threshold-nan", lambda: mode_coverage(POINTS, ring(), threshold=NAN), ValueError,
     r"threshold must be a finite number > 0, got nan"),
    ("mode_coverage-threshold-zero", lambda: mode_coverage(POINTS, ring(), threshold=0.0), ValueError,
     r"threshold must be a finite number > 0, got 0\.0"),
    ("mode_coverage-threshold-bool", lambda: mode_coverage(POINTS, ring(), threshold=True), ValueError,
     r"threshold must be a finite number > 0, got True"),
    ("mode_coverage-mixture-str", lambda: mode_coverage(POINTS, "ring"), TypeError,
     r"mixture must be a GaussianMixture2D"),
    ("mode_coverage-samples-empty", lambda: mode_coverage(torch.zeros(0, 2), ring()), ValueError,
     r"samples is empty"),
    ("mode_coverage-samples-nan", lambda: mode_coverage(with_nan(POINTS), ring()), ValueError,
     r"samples contain NaN"),
    ("mode_coverage-samples-shape", lambda: mode_coverage(torch.zeros(5, 3), ring()), ValueError,
     r"samples must have shape \(n, 2\)"),
    ("mode_coverage-samples-int", lambda: mode_coverage(torch.zeros(6, 2, dtype=torch.long), ring()), TypeError,
     r"samples must hold real numbers as floating-point coordinates, got dtype torch.int64"),
    ("ring-sample-n-beyond-memory", lambda: ring().sample(10**13, seed=0), ValueError,
     r"n = 10000000000000 points asks for \d+ GiB, more than"),
    ("sines-n-beyond-memory", lambda: sines(10**9), ValueError, r"n × length × features = 1000000000 × 24 × 5 values"),
    ("adding-n-beyond-memory", lambda: adding_problem(10**10, 100), ValueError, r"n × length = 10000000000 × 100 steps"),
    ("mode_coverage-samples-bool", lambda: mode_coverage(POINTS > 0, ring()), TypeError,
     r"samples must hold real numbers"),
    ("mixture_mmd-samples-nan", lambda: mixture_mmd(with_nan(POINTS), ring()), ValueError, r"samples contain NaN"),
    ("mixture_mmd-samples-one", lambda: mixture_mmd(torch.zeros(1, 2), ring()), ValueError,
     r"samples needs at least 2"),
    ("mixture_mmd-seed-bool", lambda: mixture_mmd(POINTS, ring(), seed=True), ValueError, r"seed must be an integer"),
    ("kl_to_uniform-counts-nan", lambda: kl_to_uniform(torch.tensor([1.0, NAN])), ValueError, r"counts contains NaN"),
    ("kl_to_uniform-counts-zero", lambda: kl_to_uniform(torch.zeros(3)), ValueError, r"counts must be non-negative"),
    ("truncated_rms-threshold-inf", lambda: truncated_rms(INF), ValueError, r"threshold must be a finite number > 0"),
    ("core_fraction-core-nan", lambda: core_fraction(3.0, core=NAN), ValueError, r"core must be a finite number > 0"),
    # --- genlab.metrics.distances ---------------------------------------------------------
    ("mmd-bandwidth-nan", lambda: mmd(X, Y, NAN), ValueError, r"bandwidth must be a positive finite number, got nan"),
    ("mmd-bandwidth-bool-in-list", lambda: mmd(X, Y, [1.0, True]), ValueError, r"bandwidth must be a positive finite"),
    ("mmd-bandwidth-str", lambda: mmd(X, Y, "wide"), ValueError, r"bandwidth must be None, a positive number"),
    ("mmd-bandwidth-empty", lambda: mmd(X, Y, []), ValueError, r"bandwidth must be None.*non-empty"),
    ("mmd-x-nan", lambda: mmd(with_nan(X), Y), ValueError, r"x contains NaN"),
    ("mmd-y-one-sample", lambda: mmd(X, Y[:1]), ValueError, r"y needs at least 2 samples"),
    ("mmd-x-str", lambda: mmd("abc", Y), TypeError, r"x must be a tensor of shape \(n, d\)"),
    ("energy-y-features", lambda: energy_distance(X, Y[:, :1]), ValueError,
     r"x and y must have the same feature dimension"),
    ("frechet-x-no-features", lambda: frechet_distance(torch.zeros(5, 0), torch.zeros(5, 0)), ValueError,
     r"x must have at least one feature"),
    ("precision_recall-k-bool", lambda: precision_recall(X, Y, k=True), ValueError,
     r"k must be a positive integer, got True"),
    ("precision_recall-k-float", lambda: precision_recall(X, Y, k=2.0), ValueError,
     r"k must be a positive integer, got 2\.0"),
    ("frechet_moments-cov1-asymmetric",
     lambda: frechet_distance_from_moments(torch.zeros(2), torch.tensor([[1.0, 0.5], [0.0, 1.0]]),
                                           torch.zeros(2), torch.eye(2)),
     ValueError, r"cov1 must be a symmetric"),
    ("frechet_moments-mu2-complex",
     lambda: frechet_distance_from_moments(torch.zeros(2), torch.eye(2), torch.zeros(2, dtype=torch.cfloat),
                                           torch.eye(2)),
     TypeError, r"mu2 must hold real numbers"),
    ("frechet_moments-mu1-empty",
     lambda: frechet_distance_from_moments(torch.zeros(0), torch.zeros(0, 0), torch.zeros(0), torch.zeros(0, 0)),
     ValueError, r"mu1 is empty"),
    # --- genlab.metrics.images, classifier -------------------------------------------------
    ("blur-sigma-nan", lambda: gaussian_blur(DIGITS, NAN), ValueError, r"sigma must be a finite number ≥ 0, got nan"),
    ("blur-sigma-bool", lambda: gaussian_blur(DIGITS, True), ValueError, r"sigma must be a finite number ≥ 0"),
    ("blur-images-int", lambda: gaussian_blur(DIGITS.long(), 1.0), TypeError, r"images must hold floating-point"),
    ("sharpness-images-bool", lambda: sharpness(DIGITS > 0), TypeError, r"images must hold real pixel values"),
    ("sharpness-images-no-channel", lambda: sharpness(torch.zeros(2, 0, 8, 8)), ValueError,
     r"images must have at least one channel"),
    ("image_scores-fake-channels", lambda: image_scores(torch.zeros(6, 3, 8, 8), DIGITS), ValueError,
     r"fake must have shape \(N, 1, 8, 8\)"),
    ("image_scores-real-nan", lambda: image_scores(DIGITS, with_nan(DIGITS)), ValueError, r"real contain NaN"),
    ("image_scores-k-zero", lambda: image_scores(DIGITS, DIGITS, k=0), ValueError, r"k must be a positive integer"),
    ("image_scores-classifier-str", lambda: image_scores(DIGITS, DIGITS, classifier="cnn"), TypeError,
     r"classifier must be a DigitClassifier"),
    ("split_halves-seed-float", lambda: split_halves(DIGITS, seed=1.5), ValueError, r"seed must be an integer"),
    ("split_halves-images-list", lambda: split_halves([1, 2, 3]), TypeError, r"images must be a torch\.Tensor"),
    ("split_halves-images-one", lambda: split_halves(DIGITS[:1]), ValueError, r"images must hold at least 2 images"),
    ("classifier-net-str", lambda: DigitClassifier("net"), TypeError, r"net must be a torch\.nn\.Module"),
    ("classifier-images-bool", lambda: untrained().predict(DIGITS > 0), TypeError,
     r"images must hold real pixel values"),
    ("classifier-images-range", lambda: untrained().predict(torch.full((2, 1, 8, 8), 16.0)), ValueError,
     r"images must have pixel values in \[-1, 1\]"),
    ("classifier-images-shape", lambda: untrained().predict(torch.zeros(2, 1, 28, 28)), ValueError,
     r"images must have shape \(N, 1, 8, 8\)"),
    ("accuracy-labels-2d", lambda: untrained().accuracy((DIGITS, torch.zeros(6, 1, dtype=torch.long))), ValueError,
     r"labels must have shape \(N,\)"),
    ("accuracy-labels-float", lambda: untrained().accuracy(TensorDataset(DIGITS, torch.zeros(6))), TypeError,
     r"labels must be integers"),
    ("accuracy-dataset-str", lambda: untrained().accuracy("digits"), TypeError,
     r"dataset must be a TensorDataset or an \(images, labels\) pair"),
    ("train_classifier-epochs-zero", lambda: train_digit_classifier(epochs=0), ValueError,
     r"epochs must be a positive integer, got 0"),
    ("train_classifier-batch_size-bool", lambda: train_digit_classifier(batch_size=True), ValueError,
     r"batch_size must be a positive integer, got True"),
    ("digit_classifier-seed-float", lambda: digit_classifier(seed=1.5), ValueError, r"seed must be an integer"),
    ("digit_classifier-device-unknown", lambda: digit_classifier(device="gpu0"), ValueError, r"device must be None"),
    # --- genlab.metrics.sequences ----------------------------------------------------------
    ("discriminative-iterations-bool", lambda: discriminative_score(SEQUENCES, SEQUENCES, iterations=True), ValueError,
     r"iterations must be a positive integer, got True"),
    ("predictive-lr-inf", lambda: predictive_score(SEQUENCES, SEQUENCES, lr=INF), ValueError,
     r"lr must be a finite number > 0, got inf"),
    ("discriminative-lr-nan", lambda: discriminative_score(SEQUENCES, SEQUENCES, lr=NAN), ValueError,
     r"lr must be a finite number > 0, got nan"),
    ("discriminative-hidden-bool", lambda: discriminative_score(SEQUENCES, SEQUENCES, hidden=True), ValueError,
     r"hidden must be a positive integer, got True"),
    ("predictive-batch_size-float", lambda: predictive_score(SEQUENCES, SEQUENCES, batch_size=2.5), ValueError,
     r"batch_size must be a positive integer, got 2\.5"),
    ("discriminative-seed-float", lambda: discriminative_score(SEQUENCES, SEQUENCES, seed=0.5), ValueError,
     r"seed must be an integer"),
    ("discriminative-device-unknown", lambda: discriminative_score(SEQUENCES, SEQUENCES, device="gpu0"), ValueError,
     r"device must be None"),
    ("discriminative-fake-nan", lambda: discriminative_score(SEQUENCES, with_nan(SEQUENCES)), ValueError,
     r"fake contains NaN"),
    ("predictive-train-one-feature", lambda: predictive_score(SEQUENCES[..., :1], SEQUENCES[..., :1]), ValueError,
     r"train and test need at least 2 features"),
    ("repeat_score-score-int", lambda: repeat_score(5, seeds=[0]), TypeError, r"score must be a callable"),
    ("repeat_score-seeds-float", lambda: repeat_score(lambda seed: 0.0, seeds=[0, 1.5]), ValueError,
     r"every seed in seeds must be an integer"),
    ("repeat_score-seeds-empty", lambda: repeat_score(lambda seed: 0.0, seeds=[]), ValueError, r"seeds is empty"),
    ("posthoc_gru-inputs-zero", lambda: PostHocGRU(0, 4, per_step=True, generator=torch.Generator()), ValueError,
     r"inputs must be a positive integer, got 0"),
    # --- genlab.metrics.stacked ------------------------------------------------------------
    ("stacked_modes-threshold-nan", lambda: stacked_modes(STACKED, threshold=NAN), ValueError,
     r"threshold must be a finite number, got nan"),
    ("stacked_modes-threshold-above-1", lambda: stacked_modes(STACKED, threshold=1.5), ValueError,
     r"threshold must lie in \[0, 1\)"),
    ("stacked_modes-images-bool", lambda: stacked_modes(STACKED > 0), TypeError, r"images must hold real pixel values"),
    ("stacked_modes-images-empty", lambda: stacked_modes(STACKED[:0]), ValueError, r"images is empty"),
    ("stacked_modes-value_range-scalar", lambda: stacked_modes(STACKED, value_range=5), ValueError, r"value_range"),
    ("classify_stacked-batch_size-zero", lambda: classify_stacked(STACKED, untrained(), batch_size=0), ValueError,
     r"batch_size must be a positive integer, got 0"),
    ("classify_stacked-classifier-str", lambda: classify_stacked(STACKED, "cnn"), TypeError,
     r"classifier must be a DigitClassifier"),
    # --- genlab.imputation -----------------------------------------------------------------
    ("check_missing-x-int", lambda: imp.check_missing(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3).bool()),
     TypeError, r"x must be a floating-point"),
    ("check_missing-mask-float", lambda: imp.check_missing(torch.zeros(2, 3), torch.ones(2, 3)), TypeError,
     r"mask must be a boolean tensor"),
    ("check_missing-mask-shape", lambda: imp.check_missing(torch.zeros(2, 3), torch.ones(2, 1).bool()), ValueError,
     r"mask must have the shape of x"),
    ("check_missing-x-nan-observed", lambda: imp.check_missing(with_nan(torch.zeros(2, 3)), torch.ones(2, 3).bool()),
     ValueError, r"x has NaN .* at observed positions"),
    ("random_mask-missing-nan", lambda: imp.random_mask((3,), NAN), ValueError,
     r"missing \(the missing fraction\) must be a number in \[0, 1\], got nan"),
    ("random_mask-missing-bool", lambda: imp.random_mask((3,), True), ValueError, r"missing .*must be a number"),
    ("random_mask-missing-above-1", lambda: imp.random_mask((3,), 1.5), ValueError, r"missing fraction"),
    ("random_mask-shape-negative", lambda: imp.random_mask((3, -1), 0.5), ValueError,
     r"every size in shape \(3, -1\) must be a non-negative integer, got -1"),
    ("random_mask-shape-float", lambda: imp.random_mask((3, 2.5), 0.5), ValueError, r"size in shape .* got 2\.5"),
    ("random_mask-shape-str", lambda: imp.random_mask("3x3", 0.5), ValueError, r"shape must be a tuple"),
    ("random_mask-shape-bool", lambda: imp.random_mask(True, 0.5), ValueError, r"shape must be a tuple"),
    ("random_mask-generator-int", lambda: imp.random_mask((3,), 0.5, generator=0), TypeError,
     r"generator must be a torch\.Generator"),
    ("bottom_half_mask-shape-2d", lambda: imp.bottom_half_mask((3, 8)), ValueError,
     r"shape must be an image shape \(N, C, H, W\)"),
    ("masked_mse-completed-nan",
     lambda: imp.masked_mse(torch.tensor([NAN, 1.0]), torch.zeros(2), torch.tensor([False, True])), ValueError,
     r"completed has NaN or infinite values at missing positions"),
    ("masked_mse-truth-inf",
     lambda: imp.masked_mse(torch.zeros(2), torch.tensor([INF, 1.0]), torch.tensor([False, True])), ValueError,
     r"truth has NaN or infinite values at missing positions"),
    ("masked_mse-mask-int", lambda: imp.masked_mse(torch.zeros(2), torch.zeros(2), torch.tensor([0, 1])), TypeError,
     r"mask must be a boolean tensor"),
    ("masked_mse-completed-int",
     lambda: imp.masked_mse(torch.zeros(2, dtype=torch.long), torch.zeros(2), torch.tensor([False, True])),
     TypeError, r"completed must hold floating-point values"),
    ("masked_mse-truth-shape",
     lambda: imp.masked_mse(torch.zeros(2), torch.zeros(3), torch.tensor([False, True])), ValueError,
     r"completed, truth and mask must have one shape"),
    ("masked_mse-mask-all-observed",
     lambda: imp.masked_mse(torch.zeros(2), torch.zeros(2), torch.tensor([True, True])), ValueError,
     r"nothing is missing.*mask is all True"),
    ("mean_fill-reference-empty", lambda: imp.mean_fill(*missing_xy()[:2], missing_xy()[2][:0]), ValueError,
     r"reference holds no samples"),
    ("mean_fill-reference-nan", lambda: imp.mean_fill(*missing_xy()[:2], with_nan(missing_xy()[2], 4)), ValueError,
     r"reference contains NaN"),
    ("mean_fill-reference-list", lambda: imp.mean_fill(*missing_xy()[:2], [[0.0, 0.0, 0.0]]), TypeError,
     r"reference must be a torch\.Tensor"),
    ("nearest_fill-reference-shape", lambda: imp.nearest_neighbour_fill(*missing_xy()[:2], missing_xy()[2][:, :2]),
     ValueError, r"reference samples must have the shape of x's samples"),
    ("gap-start-bool", lambda: imp.linear_gap_fill(LINE, True, 4), ValueError, r"start must be an integer time index"),
    ("gap-stop-float", lambda: imp.linear_gap_fill(LINE, 3, 7.0), ValueError, r"stop must be an integer time index"),
    ("gap-start-zero", lambda: imp.linear_gap_fill(LINE, 0, 4), ValueError, r"need 1 ≤ start < stop < 10"),
    ("gap-x-2d", lambda: imp.linear_gap_fill(LINE[0], 3, 7), ValueError, r"x must be sequences of shape"),
    ("gap-x-list", lambda: imp.linear_gap_fill(LINE.tolist(), 3, 7), TypeError, r"x must be a tensor of sequences"),
    ("gap-x-nan-before", lambda: imp.linear_gap_fill(with_nan(LINE), 3, 7), ValueError,
     r"x has NaN or infinite values outside the gap"),
    # --- genlab.viz ------------------------------------------------------------------------
    ("image_grid-nrow-zero", lambda: viz.image_grid(DIGITS, nrow=0), ValueError,
     r"nrow must be a positive integer, got 0"),
    ("image_grid-nrow-float", lambda: viz.image_grid(DIGITS, nrow=2.5), ValueError,
     r"nrow must be a positive integer, got 2\.5"),
    ("image_grid-value_range-equal", lambda: viz.image_grid(DIGITS, value_range=(1, 1)), ValueError,
     r"value_range must be two finite numbers low < high"),
    ("image_grid-value_range-nan", lambda: viz.image_grid(DIGITS, value_range=(0, NAN)), ValueError,
     r"value_range must be two finite numbers"),
    ("image_grid-value_range-scalar", lambda: viz.image_grid(DIGITS, value_range=1), ValueError,
     r"value_range must be a pair"),
    ("image_grid-images-empty", lambda: viz.image_grid(DIGITS[:0]), ValueError, r"images is empty"),
    ("image_grid-padding-negative", lambda: viz.image_grid(DIGITS, padding=-1), ValueError,
     r"padding must be a non-negative integer, got -1"),
    ("image_grid-images-channels", lambda: viz.image_grid(torch.zeros(2, 2, 8, 8)), ValueError,
     r"images must have shape \(N, 1 or 3, H, W\)"),
    ("plot_samples-samples-shape", lambda: viz.plot_samples_2d(torch.zeros(5, 3)), ValueError,
     r"samples must have shape \(n, 2\)"),
    ("plot_samples-centers-empty", lambda: viz.plot_samples_2d(POINTS, torch.zeros(0, 2)), ValueError,
     r"centers must have shape \(K, 2\) with K ≥ 1"),
    ("plot_samples-limit-nan", lambda: viz.plot_samples_2d(POINTS, limit=NAN), ValueError,
     r"limit must be a finite number > 0, got nan"),
    ("plot_samples-s-negative", lambda: viz.plot_samples_2d(POINTS, s=-1.0), ValueError,
     r"^s must be a finite number > 0"),
    ("plot_samples-ax-str", lambda: viz.plot_samples_2d(POINTS, ax="axes"), TypeError,
     r"ax must be a matplotlib Axes"),
    ("plot_losses-history-list", lambda: viz.plot_losses([1.0, 2.0]), TypeError, r"history must be a dict"),
    ("plot_losses-smooth-zero", lambda: viz.plot_losses({"loss": [1.0, 2.0]}, smooth=0), ValueError,
     r"smooth must be a positive integer, got 0"),
    ("plot_losses-history-2d", lambda: viz.plot_losses({"loss": [[1.0, 2.0], [3.0, 4.0]]}), ValueError,
     r"history\['loss'\] must be 1-D"),
    ("plot_losses-history-text", lambda: viz.plot_losses({"loss": ["high", "low"]}), TypeError,
     r"history\['loss'\] must be a sequence of numbers"),
]


@pytest.mark.parametrize(
    ("call", "error", "message"), [row[1:] for row in CATALOGUE], ids=[row[0] for row in CATALOGUE]
)
def test_bad_input_is_refused_with_a_message_that_names_the_argument(call, error, message):
    try:
        with pytest.raises(error, match=message):
            call()
    finally:
        plt.close("all")


def test_frechet_distance_of_fewer_samples_than_dimensions_is_computed_with_a_warning_naming_the_set():
    """Documented behaviour: singular covariances are allowed, so the distance is returned, and a
    warning names the set whose covariance is singular."""
    x, y = torch.randn(3, 10, generator=torch.Generator().manual_seed(0)), torch.randn(30, 10)
    with pytest.warns(UserWarning, match=r"frechet_distance: x has 3 samples in 10 dimensions"):
        assert math.isfinite(frechet_distance(x, y))


def test_the_catalogue_is_large_and_its_ids_are_unique():
    ids = [row[0] for row in CATALOGUE]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
