import torch
from torch import nn

from ood_nb_utils import scorers

STD = (0.2, 0.2, 0.2)


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
    got = scorers.odin(net, x, std=STD, temperature=10.0, epsilon=0.0)
    assert torch.allclose(got, scorers.msp(net(x).detach(), temperature=10.0))


def test_odin_perturbation_raises_confidence_of_predicted_class():
    net, x = Linear(), torch.randn(6, 3, 4, 4)
    before = scorers.odin(net, x, std=STD, temperature=1000.0, epsilon=0.0)
    after = scorers.odin(net, x, std=STD, temperature=1000.0, epsilon=0.01)
    assert (after > before).all()


def test_odin_validates_images():
    net = Linear()
    try:
        scorers.odin(net, torch.randn(2, 4, 4), std=STD)
    except ValueError as err:
        assert "N x 3 x H x W" in str(err)
    else:
        raise AssertionError("expected a ValueError")


def test_the_step_is_epsilon_in_pixel_units_divided_by_the_normalisation_std():
    # a step of epsilon pixels is epsilon / std in normalised space: std 0.5 with epsilon 0.01 is the same
    # perturbation as std 1.0 with epsilon 0.02, and the kernel reads std from its argument, not a dataset
    net, x = Linear(), torch.randn(6, 3, 4, 4)
    half = scorers.odin(net, x, std=(0.5, 0.5, 0.5), temperature=1000.0, epsilon=0.01)
    one = scorers.odin(net, x, std=(1.0, 1.0, 1.0), temperature=1000.0, epsilon=0.02)
    assert torch.allclose(half, one, rtol=0, atol=1e-7)
    other = scorers.odin(net, x, std=(1.0, 1.0, 1.0), temperature=1000.0, epsilon=0.01)
    assert not torch.allclose(half, other)
    for bad in [(0.2, 0.2), (0.2, 0.0, 0.2)]:
        try:
            scorers.odin(net, x, std=bad)
        except ValueError as err:
            assert "per-channel stds" in str(err)
        else:
            raise AssertionError(f"std={bad} was accepted")


def test_input_gradients_only_gives_the_same_odin_scores_and_restores_the_parameters():
    """The gradient passes freeze the weights for their duration (autograd then skips weight gradients); the
    scores are identical and every parameter's requires_grad comes back as it was."""
    from ood_nb_utils.data import CIFAR_STD

    from .nets import tiny_adapter, tiny_net

    net = tiny_net(channels=8, classes=5)
    net.fc.bias.requires_grad_(False)  # a parameter the user froze stays frozen
    adapter = tiny_adapter(net)
    x = torch.randn(6, 3, 8, 8)
    plain = scorers.odin(adapter.logits, x, std=CIFAR_STD, temperature=10.0, epsilon=0.01)
    with adapter.input_gradients_only():
        assert not any(p.requires_grad for p in net.parameters())
        fast = scorers.odin(adapter.logits, x, std=CIFAR_STD, temperature=10.0, epsilon=0.01)
    assert torch.equal(plain, fast)
    assert net.conv.weight.requires_grad and net.fc.weight.requires_grad and not net.fc.bias.requires_grad
