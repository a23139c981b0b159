import torch
from torch import nn

from ood_nb_utils import scorers


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 4 * 4, 5)
        torch.manual_seed(0)
        nn.init.normal_(self.fc.weight)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_odin_without_perturbation_is_tempered_msp():
    net, x = Linear(), torch.randn(6, 3, 4, 4)
    got = scorers.odin(net, x, temperature=10.0, epsilon=0.0)
    assert torch.allclose(got, scorers.msp(net(x).detach(), temperature=10.0))


def test_odin_perturbation_raises_confidence_of_predicted_class():
    net, x = Linear(), torch.randn(6, 3, 4, 4)
    before = scorers.odin(net, x, temperature=1000.0, epsilon=0.0)
    after = scorers.odin(net, x, temperature=1000.0, epsilon=0.01)
    assert (after > before).all()


def test_odin_validates_images():
    net = Linear()
    try:
        scorers.odin(net, torch.randn(2, 4, 4))
    except ValueError as err:
        assert "N x 3 x H x W" in str(err)
    else:
        raise AssertionError("expected a ValueError")
