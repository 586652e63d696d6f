"""A real series for the sequence generators: windows of weekly CO2 at Mauna Loa, scored against their own floor.

Data: the 2,284 weeks of `genlab.data.co2` (March 1958 – December 2001, gaps interpolated),
cut in time (`chronological_split`): the first 80 % (1,827 weeks, to March 1993) for
training, the last 20 % (457 weeks) held out. Each part is cut into every window of 24
weeks (1,804 training windows, 434 held-out ones) and each window has its own mean
subtracted: the level of a window belongs to the long-term trend, which no window-sized
generator can learn from one period and continue into the next; what is left — the
seasonal cycle and the week-to-week variation around it — is what the models learn. Values
are then min-max scaled with the training windows' range (held-out ones may fall slightly
outside [0, 1]).

Scores (`genlab.metrics.sequences`), against the held-out windows, with as many generated
windows as there are held-out ones (the discriminative score needs two sets of one size):

- discriminative: the post-hoc GRU classifier of held-out against generated windows;
- predictive, target="next": a GRU trained on the generated windows predicts each week from
  the weeks before it, tested on the held-out ones (TimeGAN's target, the last feature from
  the others, does not exist for a single series).

Both post-hoc GRUs get 4 units instead of TimeGAN's ⌊F/2⌋ = 1 (see the notes).

No published number exists for this data; the reference is the floor, "real (training
period)": windows drawn from the training period scored exactly like a model's samples.
"time steps shuffled" (training windows with their weeks in random order) shows what a
generator that loses the order of time scores.

Run it with `python -m genlab.bench co2 --seeds 10`.
"""

from __future__ import annotations

import torch
from torch import Tensor

import genlab
from genlab.bench.common import Benchmark, Column, Recipe
from genlab.bench.sines import DISCRIMINATIVE_ITERATIONS, PREDICTIVE_ITERATIONS, shuffle_steps
from genlab.data import Scaler, chronological_split, co2, windows
from genlab.metrics.sequences import discriminative_score, predictive_score

LENGTH = 24  # weeks per window, the sines' length
HELD_OUT_FRACTION = 0.2
DRAW, MODEL_SAMPLES = 20_000, 30_000  # seed offsets for the floor's draw and the samples
HIDDEN = 4  # units of both post-hoc GRUs (TimeGAN's ⌊F/2⌋ would give one; see the notes)


def co2_windows() -> tuple[Tensor, Tensor, Scaler]:
    """(training windows, held-out windows, scaler): mean-centred 24-week windows, scaled to the training range.

    Shapes (1804, 24, 1) and (434, 24, 1), float32; `scaler.inverse_transform` maps back to ppm
    around each window's mean.
    """
    _, values = co2()
    train, held_out = chronological_split(values, HELD_OUT_FRACTION)
    parts = [windows(part, LENGTH) for part in (train, held_out)]
    parts = [w - w.mean(dim=1, keepdim=True) for w in parts]
    scaler = Scaler("minmax").fit(parts[0])
    return scaler.transform(parts[0]).float(), scaler.transform(parts[1]).float(), scaler


def score(held_out: Tensor, generated: Tensor, seed: int, device: torch.device | str | None = None) -> dict[str, float]:
    """Both scores of `generated` against `held_out` (same number of windows)."""
    return {
        "discriminative": discriminative_score(held_out, generated, seed=seed, iterations=DISCRIMINATIVE_ITERATIONS,
                                               hidden=HIDDEN, device=device),
        "predictive": predictive_score(generated, held_out, seed=seed, iterations=PREDICTIVE_ITERATIONS,
                                       target="next", hidden=HIDDEN, device=device),
    }


def _training_draw(train: Tensor, n: int, seed: int) -> Tensor:
    """n training windows drawn without replacement."""
    g = torch.Generator().manual_seed(seed + DRAW)
    return train[torch.randperm(len(train), generator=g)[:n]]


def score_training_period(seed: int, device: torch.device | str | None = None) -> dict[str, float]:
    """The floor: real windows from the training period, as many as the held-out ones."""
    train, held_out, _ = co2_windows()
    return score(held_out, _training_draw(train, len(held_out), seed), seed, device)


def score_shuffled_steps(seed: int, device: torch.device | str | None = None) -> dict[str, float]:
    """Training windows with their weeks shuffled: right values, wrong order."""
    train, held_out, _ = co2_windows()
    fake = shuffle_steps(_training_draw(train, len(held_out), seed), seed=seed + DRAW)
    return score(held_out, fake, seed, device)


RECIPES = {
    "RCGAN, noise per sequence": Recipe(lambda: genlab.RecurrentGAN.rcgan(1, LENGTH, hidden=64, lr=1e-4, d_lr=4e-4,
                                                                          noise="sequence"),
                                        steps=6_000, lr_decay="linear"),
    "SequenceRNN": Recipe(lambda: genlab.SequenceRNN(1, LENGTH, hidden=32, lr=3e-3), steps=3_000, lr_decay="linear"),
}


def train(name: str, seed: int, device: torch.device | str | None = None, *, steps: int | None = None):
    """Row `name`'s model trained under `seed` on the training windows (`steps` overrides the recipe)."""
    return RECIPES[name].train(co2_windows()[0], seed, device, steps=steps)


def _row(name: str):
    def runner(seed: int, device: torch.device | str | None = None, *, steps: int | None = None) -> dict[str, float]:
        model = train(name, seed, device, steps=steps)
        _, held_out, _ = co2_windows()
        g = torch.Generator(device=model.device).manual_seed(seed + MODEL_SAMPLES)
        return score(held_out, model.sample(len(held_out), generator=g).cpu(), seed, device)

    return runner


BENCHMARK = Benchmark(
    name="co2",
    title="Weekly CO2, 24-week windows (mean removed): 1958–1993 for training, 1993–2001 held out",
    columns=[
        Column("discriminative", "discriminative ↓", "{:.3f}", goal=0.02),
        Column("predictive", "predictive ↓", "{:.4f}", goal=0.002),
    ],
    models={name: _row(name) for name in RECIPES},
    default_models=list(RECIPES),
    references={"real (training period)": score_training_period, "time steps shuffled": score_shuffled_steps},
    error="se",
    notes=[
        "1,804 training windows, 434 held-out windows (stride 1, so neighbours share 23 of 24 weeks); "
        "each model samples 434 windows",
        "discriminative: TimeGAN's post-hoc GRU classifier, held-out against "
        "generated; predictive: a GRU trained on the generated windows predicts every week from the ones "
        "before it, mean absolute error on the held-out windows (in units of the training range)",
        "the floor is the training period itself: no model trained on it should be expected to look more like "
        "the held-out years than it does",
        f"both post-hoc GRUs have {HIDDEN} units: TimeGAN's rule, ⌊F/2⌋, gives one for one feature, and a "
        "one-unit predictor stalls at a constant on half the seeds even when trained on real windows (seeds 0–5: "
        "error .137–.141 on three, .040–.045 on the others; with 4 units .034–.035 on all six)",
        "RCGAN (noise per sequence): LSTMs of 64 units, lr 1e-4 (G) and 4e-4 (D) decaying linearly, 6,000 "
        "updates of 128; SequenceRNN: GRU of 32 units, lr 3e-3 decaying linearly, 3,000 updates of 128",
    ],
)

__all__ = ["BENCHMARK", "co2_windows", "score"]
