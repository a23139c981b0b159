import pytest
import torch

from ood_nb_utils.models import CHECKPOINTS, SPATIAL_TAPS, DenseNet3, checkpoint_path, load_model, models_of

from ..conftest import have_weights

EXPECTED_SHAPES = {
    "conv1": (24, 32, 32), "block1": (216, 32, 32), "trans1": (108, 32, 32), "block2": (300, 16, 16),
    "trans2": (150, 16, 16), "block3": (342, 8, 8), "final": (342, 8, 8), "penultimate": (342,), "logits": (10,),
}


def test_taps_have_the_documented_shapes_and_compose():
    net = DenseNet3(100, 10).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        taps = net.forward_taps(x)
        assert {k: tuple(v.shape[1:]) for k, v in taps.items()} == EXPECTED_SHAPES
        assert set(SPATIAL_TAPS) < set(taps)
        assert torch.allclose(taps["penultimate"], taps["final"].mean((2, 3)))
        assert torch.allclose(taps["logits"], net.fc(taps["penultimate"]))
        assert torch.allclose(net(x), taps["logits"])
        assert (taps["final"] >= 0).all()  # after ReLU


def test_parameter_count_is_densenet_bc_100():
    n = sum(p.numel() for p in DenseNet3(100, 10).parameters())
    assert 0.75e6 < n < 0.8e6  # DenseNet-BC (k = 12, L = 100) has 0.8M parameters (Huang et al., Table 2)


DICE = sorted(models_of("densenet100").values())


@pytest.mark.skipif(not all(have_weights(n) for n in DICE), reason="needs the DICE checkpoints")
@pytest.mark.parametrize("name", DICE)
def test_checkpoints_load_strictly(name):
    model = load_model(name)
    assert model.weight.shape == (CHECKPOINTS[name].num_classes, 342)
    state = torch.load(checkpoint_path(name), map_location="cpu", weights_only=True)["state_dict"]
    state["unexpected.weight"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        DenseNet3(100, CHECKPOINTS[name].num_classes).load_state_dict(state, strict=True)
