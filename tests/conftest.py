import matplotlib

matplotlib.use("Agg")

import pytest
import torch

import genlab


@pytest.fixture
def ring_data() -> torch.Tensor:
    return genlab.data.ring().sample(512, seed=0)
