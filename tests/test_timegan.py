"""TimeGAN (genlab.models.timegan): its losses, its phases, and the mistakes public ports made."""

import math
import warnings

import pytest
import torch

import genlab
from genlab.models.timegan import TimeGAN, moment_loss, next_step_loss


def small(**kwargs) -> TimeGAN:
    torch.manual_seed(0)
    return TimeGAN(length=8, features=2, hidden=6, layers=2, **{"embedding_steps": 2, "supervised_steps": 2, **kwargs})


def snapshot(model: TimeGAN) -> dict[str, list[torch.Tensor]]:
    nets = ("embedder", "recovery", "generator", "supervisor", "discriminator")
    return {name: [p.detach().clone() for p in getattr(model, name).parameters()] for name in nets}


def moved(before: dict, model: TimeGAN) -> set[str]:
    return {name for name, params in before.items()
            if any(not torch.equal(a, b) for a, b in zip(params, getattr(model, name).parameters()))}


def test_noise_is_uniform_and_fresh_for_every_sequence_step_and_feature():
    """A reported port drew one (steps × features) noise block and repeated it over the batch."""
    model = small()
    z = model.noise(4_000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4_000, 8, 2) and z.min() >= 0 and z.max() < 1
    assert abs(z.mean().item() - 0.5) < 0.01 and abs(z.var().item() - 1 / 12) < 0.005  # U(0, 1): mean ½, variance 1/12
    assert not torch.equal(z[0], z[1])  # each sequence its own noise
    # no correlation between neighbouring steps or sequences: independent draws
    assert abs(torch.corrcoef(torch.stack([z[:, 0, 0], z[:, 1, 0]]))[0, 1].item()) < 0.05
    assert abs(torch.corrcoef(torch.stack([z[:-1, 0, 0], z[1:, 0, 0]]))[0, 1].item()) < 0.05


def test_the_supervised_loss_compares_each_prediction_with_the_next_step():
    """Aligning s(h)_t with h_t instead of h_{t+1}, a reported port's bug, lets the identity map win."""
    h = torch.rand(3, 6, 4)
    next_step = torch.cat([h[:, 1:], torch.zeros(3, 1, 4)], dim=1)  # a perfect one-step-ahead predictor
    assert next_step_loss(h, next_step).item() == 0
    assert next_step_loss(h, h).item() == pytest.approx((h[:, 1:] - h[:, :-1]).pow(2).mean().item())
    assert next_step_loss(h, h).item() > 0.05


def test_the_loss_and_the_switch_no_longer_share_a_name():
    """L_S is `next_step_loss`; `supervised_loss` is only TimeGAN's switch. The function's former name still
    imports, with a warning that names the new one."""
    import genlab.models.timegan as timegan

    with pytest.warns(FutureWarning, match="next_step_loss"):
        assert timegan.supervised_loss is next_step_loss
    assert "supervised_loss" not in vars(timegan)
    assert small(supervised_loss=False).use_supervised_loss is False
    with pytest.raises(AttributeError):
        timegan.no_such_name


def test_moment_loss_by_hand_without_a_square_root_around_it():
    real = torch.tensor([[[0.0]], [[2.0]]])  # per (step, feature): mean 1, population std 1
    generated = torch.tensor([[[0.0]], [[6.0]]])  # mean 3, std 3
    expected = abs(math.sqrt(9 + 1e-6) - math.sqrt(1 + 1e-6)) + abs(3 - 1)
    assert moment_loss(generated, real).item() == pytest.approx(expected, rel=1e-6)  # 4, not √4


def test_phases_train_the_right_networks():
    model = small()
    optimizers = model.configure_optimizers()
    assert set(optimizers) == {"embedding", "generator", "discriminator"}
    x = genlab.data.sines(16, 8, 2, seed=0)
    trained = []
    for step in range(6):
        before = snapshot(model)
        out = model.train_step(x, optimizers, step)
        assert set(out) == {"reconstruction", "supervised", "generator", "discriminator"}  # the same every step
        assert all(math.isfinite(v.item()) for v in out.values())
        trained.append((model.phase(step), moved(before, model)))
    assert trained[0] == ("embedding", {"embedder", "recovery"})
    # the supervisor learns on real latent sequences; the generator is in its optimizer but gets no gradient
    assert trained[2] == ("supervised", {"supervisor"})
    # joint: every network, the embedder included (a port forgot E_loss.backward())
    assert trained[4] == ("joint", {"embedder", "recovery", "generator", "supervisor", "discriminator"})


def test_ablations_and_the_discriminator_threshold():
    x = genlab.data.sines(16, 8, 2, seed=0)
    frozen = small(joint_embedding=False, d_threshold=1e9, embedding_steps=0, supervised_steps=0)
    before = snapshot(frozen)
    frozen.train_step(x, frozen.configure_optimizers(), 0)
    # a discriminator whose loss is below the threshold does not step; without joint embedding neither do e, r
    assert moved(before, frozen) == {"generator", "supervisor"}

    data_space = small(embedding=False)
    assert isinstance(data_space.embedder, torch.nn.Identity) and data_space.latent_dim == 2
    assert data_space.phase(0) == "supervised" and "embedding" not in data_space.configure_optimizers()
    assert data_space.sample(3).shape == (3, 8, 2)

    unsupervised = small(supervised_loss=False)
    before = snapshot(unsupervised)
    out = unsupervised.train_step(x, unsupervised.configure_optimizers(), 2)  # the supervised phase
    assert moved(before, unsupervised) == set() and out["supervised"] > 0  # measured, not trained


def test_resume_across_phase_boundaries_is_exact(tmp_path):
    x = genlab.data.sines(64, 8, 2, seed=0)
    full = small()
    history = genlab.fit(full, x, steps=7, batch_size=16, seed=1)
    path = tmp_path / "timegan.pt"
    genlab.fit(small(), x, steps=1, batch_size=16, seed=1, checkpoint=path)  # stopped inside phase 1
    resumed = small()
    resumed_history = genlab.fit(resumed, x, steps=7, batch_size=16, seed=1, checkpoint=path, resume=True)
    assert resumed_history == history
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))


def test_data_outside_the_unit_interval_is_refused_with_the_remedy():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*min-max"):
        genlab.fit(small(), genlab.data.sines(16, 8, 2, seed=0) - 1, steps=1, batch_size=8)
    with pytest.raises(ValueError, match="length must be at least 2"):
        TimeGAN(length=1, features=2)
    with pytest.raises(ValueError, match="embedding_steps must be"):
        TimeGAN(length=8, features=2, embedding_steps=-1)
    with pytest.raises(ValueError, match="gamma"):
        TimeGAN(length=8, features=2, gamma=float("nan"))


def test_padded_sequences_are_refused_because_no_loss_is_masked():
    """Ports that pad short sequences and average the squared error over the padding too (an unmasked MSE)
    teach the networks the padding. Here sequences have one length, and NaN padding is refused."""
    x = genlab.data.sines(16, 8, 2, seed=0)
    x[0, 6:] = float("nan")  # a sequence of 6 steps padded to 8
    with pytest.raises(ValueError, match=r"contains NaN.*first at index 0"):
        genlab.fit(small(), x, steps=1, batch_size=8)
    # every loss is a plain mean over all B × T × F values: each step weighs the same
    h, predicted = torch.rand(3, 8, 4), torch.rand(3, 8, 4)
    assert next_step_loss(h, predicted).item() == pytest.approx((h[:, 1:] - predicted[:, :-1]).pow(2).mean().item())


def test_fit_warns_when_steps_end_before_joint_training_and_names_its_first_step():
    x = torch.rand(16, 8, 2)
    with pytest.warns(genlab.PhaseNotReached, match=r"ends before TimeGAN's 'joint' phase, which starts at step 4 "
                                                   r"\(embedding from step 0, supervised from step 2, joint from step 4\)"):
        genlab.fit(small(), x, steps=4, batch_size=8, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        genlab.fit(small(), x, steps=5, batch_size=8, progress=False)  # one joint step: no warning
        genlab.fit(genlab.GAN.mlp(data_dim=2, latent_dim=2, hidden=4, depth=1), torch.randn(8, 2), steps=1,
                   batch_size=4, progress=False)  # a model without phases never warns
    assert small(embedding=False).phase_starts() == {"supervised": 0, "joint": 2}
    assert small(supervised_steps=0).phase_starts() == {"embedding": 0, "joint": 2}


def test_sizes_are_keywords_in_the_datas_order_and_the_range_error_names_the_scaler():
    with pytest.raises(TypeError):
        TimeGAN(2, 8)  # positional sizes are refused: (features, length) or (length, features)?
    with pytest.raises(ValueError, match=r"genlab\.data\.Scaler\('minmax'\)"):
        genlab.fit(small(), torch.rand(16, 8, 2) + 1, steps=1, batch_size=8, progress=False)
