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


def test_input_gradients_only_gives_the_same_odin_scores_and_restores_the_parameters():
    """Issue 15: the gradient passes freeze the weights for their duration (autograd then skips weight
    gradients); the scores are identical and every parameter's requires_grad comes back as it was."""
    from ood_nb_utils.data import CIFAR_MEAN, CIFAR_STD
    from ood_nb_utils.models import ModelAdapter

    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("conv", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("relu", nn.ReLU())
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(8, 5))
    net.fc.bias.requires_grad_(False)  # a parameter the user froze stays frozen
    adapter = ModelAdapter.from_module(net, final="relu", head="fc", mean=CIFAR_MEAN, std=CIFAR_STD, name="tiny")
    x = torch.randn(6, 3, 8, 8)
    plain = scorers.odin(adapter.logits, x, temperature=10.0, epsilon=0.01)
    with adapter.input_gradients_only():
        assert not any(p.requires_grad for p in net.parameters())
        fast = scorers.odin(adapter.logits, x, temperature=10.0, epsilon=0.01)
    assert torch.equal(plain, fast)
    assert net.conv.weight.requires_grad and net.fc.weight.requires_grad and not net.fc.bias.requires_grad
