# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Use the methods on your own model
#
# ```{admonition} What this page needs
# :class: note
# - **Checkpoint and data**: the CIFAR-10 DenseNet and the CIFAR-10 / Textures sets, as chapter 0.
# - **Time**: about a minute on 2 CPU cores (a few thousand images through two networks, cached after).
# ```
#
# Every method of the book is a small class behind one interface (`ood_nb_utils.detectors`), and
# none of them knows which network produced its inputs. What they need from a network is asked
# through a **model adapter**:
#
# - `final`: the module whose output is the map before global pooling (after the last ReLU);
#   NAP reads its channel maxima and means, and its global average is the penultimate feature;
# - `head`: the `nn.Linear` classifier;
# - `taps`: optional extra modules (NAP's layer study, Prototype Fusion's layers);
# - `mean`/`std`: the input normalisation the network was trained with.
#
# `ModelAdapter.from_module` reads these through forward hooks, so your model's code does not
# change. `extract(adapter, images, labels)` then runs the network once per image and caches
# logits, the penultimate feature and every tap's per-channel mean and max, keyed by a hash of
# the adapter's weights. Detectors fit on ID train features and score test features
# (higher = more in-distribution); network-based ones (ODIN, AdaSCALE) take the adapter itself.
# Detectors that search a hyperparameter on held-out ID images (NAP-X with `w=None`) or build a
# reference from them (AdaSCALE's eCDF) take those images as a `HeldOut(adapter, images, labels)`:
# ID images the detector neither fits on nor scores.
#
# This page does two things: it wraps the book's own DenseNet **as a plain `nn.Module`** and shows
# that every detector gives the scores of the built-in path; then it runs a torchvision ResNet-18
# through every feature-based detector.

# %%
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from torch import nn
from torchvision.models import resnet18

from ood_nb_utils import HeldOut, ModelAdapter, data, detectors, extract, metrics
from ood_nb_utils.data import CIFAR_MEAN, CIFAR_STD
from ood_nb_utils.lectures import chapter
from ood_nb_utils.models import HOOK_TAPS, load_densenet, load_model

PROFILE = chapter.start()
train_images = data.load("cifar10_train", n=1000, seed=0)  # what detectors fit on
# 200 ID images outside the fit subset: NAP-X's w search and AdaSCALE's eCDF
heldout_images = data.load_heldout("cifar10_train", train_images.indices, n=200, seed=0)
test_sets = {d: data.load(d, n=500, seed=0) for d in ["cifar10", "textures"]}

# %% [markdown]
# ## The DICE DenseNet as a plain module
#
# `load_densenet` returns the network as an ordinary `nn.Module`; the adapter hooks the modules
# named in `HOOK_TAPS` (`trans1.conv1` is transition 1 before pooling, `relu` the final BN+ReLU map)
# and calls `net(x)`. The built-in adapter (`load_model`) calls the network's own `forward_taps`.

# %%
plain = ModelAdapter.from_module(load_densenet("densenet100-cifar10"), final="relu", head="fc", taps=HOOK_TAPS,
                                 mean=CIFAR_MEAN, std=CIFAR_STD, name="my-densenet")
built_in = load_model("densenet100-cifar10")
print(plain, built_in, sep="\n")


# %% [markdown]
# Fit every feature-based detector on the same 1,000 train images through each adapter and score
# the same 500 CIFAR-10 and 500 Textures test images. The table gives the largest difference
# between the two paths' scores, and each path's AUROC (CIFAR-10 vs Textures).

# %%
def run_all(adapter):
    """Fit and score every feature-based detector through one adapter: ({method: {set: scores}}, {method: the
    fitted detector})."""
    train, heldout = extract(adapter, train_images, progress=False), HeldOut(adapter, heldout_images)
    feats = {d: extract(adapter, images, progress=False) for d, images in test_sets.items()}
    out, fitted = {}, {}
    for name in detectors.available():
        det = detectors.create(name)
        if not det.needs.network:
            fitted[name] = det.fit(train if det.needs.train else None, adapter.head, heldout)
            out[name] = {d: det.score(f) for d, f in feats.items()}
    return out, fitted


(ours, _), (ref, _) = run_all(plain), run_all(built_in)
agreement = pd.DataFrame([{"method": name, "max |score difference|": max(np.abs(ours[name][d] - ref[name][d]).max()
                                                                         for d in test_sets),
                           "AUROC, plain module (%)": 100 * metrics.auroc(ours[name]["cifar10"],
                                                                          ours[name]["textures"]),
                           "AUROC, built-in (%)": 100 * metrics.auroc(ref[name]["cifar10"], ref[name]["textures"])}
                          for name in ours])
display(agreement.style.format({"max |score difference|": "{:.1e}", "AUROC, plain module (%)": "{:.2f}",
                                "AUROC, built-in (%)": "{:.2f}"}, na_rep="—").hide(axis="index"))
worst = agreement["max |score difference|"].max()
display(Markdown(f"Across {len(agreement)} detectors the two paths "
                 + ("give **bit-identical** scores" if worst == 0 else f"differ by at most **{worst:.1e}** in a score")
                 + ", and every AUROC is the same to the printed digit: "
                 + ("yes." if (agreement["AUROC, plain module (%)"].round(2)
                               == agreement["AUROC, built-in (%)"].round(2)).all() else "**no** (see the table).")))

# %% [markdown]
# Network-based detectors take the adapter: ODIN on 64 test images of each set, through the plain
# module.

# %%
odin = detectors.create("odin").fit(None, plain.head, adapter=plain)
odin_scores = {d: odin.score(images.subset(np.arange(64))) for d, images in test_sets.items()}
print(f"ODIN through the plain module: AUROC {100 * metrics.auroc(*odin_scores.values()):.2f}% on 64 + 64 images")

# %% [markdown]
# ## A torchvision ResNet-18
#
# The usual CIFAR sizing of ResNet-18: a 3 x 3 stride-1 stem and no max-pool, so a 32 x 32 image
# leaves `layer4` as a 512 x 4 x 4 map. `final` is `layer4` (its blocks end in a ReLU), the head is
# `fc`, and we tap `layer2` and `layer3` under the names Prototype Fusion uses by default.
#
# ```{warning}
# These weights are **random** (nothing here is trained), so the numbers below mean nothing about
# OOD detection: expect AUROCs near 50%. The page shows the plumbing: with your own trained
# weights, the same cells give that network's results.
# ```

# %%
torch.manual_seed(0)
net = resnet18(num_classes=10)
net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
net.maxpool = nn.Identity()
resnet = ModelAdapter.from_module(net.eval(), final="layer4", head="fc", taps={"block2": "layer2", "block3": "layer3"},
                                  mean=CIFAR_MEAN, std=CIFAR_STD, name="resnet18-random")
scores, resnet_fitted = run_all(resnet)
table = pd.DataFrame([{"method": detectors.get_class(name).title, "finite scores": all(np.isfinite(s).all()
                                                                                       for s in sc.values()),
                       "AUROC CIFAR-10 vs Textures (%)": 100 * metrics.auroc(sc["cifar10"], sc["textures"])}
                      for name, sc in scores.items()])
display(table.style.format(precision=2, na_rep="—").hide(axis="index"))
assert table["finite scores"].all(), "a detector returned NaN or inf on the ResNet"
display(Markdown(f"All {len(table)} feature-based detectors ran on the ResNet-18 and returned finite scores "
                 f"(AUROCs from {table.iloc[:, 2].min():.1f}% to {table.iloc[:, 2].max():.1f}%, random weights)."))

# %% [markdown]
# ### Held-out images: NAP-E's searched weight and AdaSCALE-A on the ResNet-18
#
# NAP-E with `w=None` (fitted above by `run_all`, `det.fit(train, head, heldout)`) searched its
# weight by golden section on the held-out images against their corrupted copies (NAP App. H);
# AdaSCALE-A builds its eCDF of $Q'$ from the perturbed activations of the same held-out images
# (Algorithm 1). Both get them as a `HeldOut`, with no other machinery of the book. AdaSCALE's
# $p_{min}, p_{max}, k_2$ are tuned per network in the paper (Tables 12-13); for a ResNet we name
# the nearest row it gives, ResNet-50 on ImageNet (`setting="imagenet-resnet50"`: 80, 85, 5%). For
# your own network, tune them on held-out data.

# %%
nap_e = resnet_fitted["nap_e"]
ada = detectors.AdaScaleA(setting="imagenet-resnet50", n_val=len(heldout_images)).fit(
    None, resnet.head, HeldOut(resnet, heldout_images), adapter=resnet)
few = {d: images.subset(np.arange(100)) for d, images in test_sets.items()}  # a gradient pass per image
held = pd.DataFrame([
    {"method": nap_e.title, "fitted": f"w = {nap_e.w_:.3f} (searched on {len(heldout_images)} held-out images)",
     "AUROC CIFAR-10 vs Textures (%)": 100 * metrics.auroc(scores["nap_e"]["cifar10"], scores["nap_e"]["textures"]),
     "images per set": len(test_sets["cifar10"])},
    {"method": ada.title, "fitted": "p_min, p_max, k2 = {p_min:.0f}, {p_max:.0f}, {k2:.0f}%".format(
        **ada.fitted_params()) + f" (eCDF of {ada.fit_info_.sizes['heldout (eCDF)']} held-out images)",
     "AUROC CIFAR-10 vs Textures (%)": 100 * metrics.auroc(*(ada.score(im) for im in few.values())),
     "images per set": 100}])
display(held.style.format(precision=2, na_rep="—").hide(axis="index"))

# %% [markdown]
# ## The same from the command line and in your own code
#
# ```python
# from ood_nb_utils import ModelAdapter, detectors, extract
#
# adapter = ModelAdapter.from_module(my_net, final="layer4", head="fc", mean=MEAN, std=STD, name="mine")
# train = extract(adapter, my_train_images, my_train_labels)      # uint8 N x H x W x 3, or a Dataset/DataLoader
# knn = detectors.create("knn", k=50).fit(train, adapter.head)     # paper defaults unless overridden
# scores = knn.score(extract(adapter, my_test_images))            # float64, higher = more in-distribution
# combo = detectors.NapX(base=detectors.ReAct(threshold=1.0), w=0.5).fit(train, adapter.head)
# ```
#
# Methods that search a hyperparameter on held-out ID images (NAP-X with `w=None`) or build a
# reference from them (AdaSCALE) take them as a third argument:
#
# ```python
# from ood_nb_utils import HeldOut
#
# heldout = HeldOut(adapter, images_it_never_fits_on_or_scores, their_labels)
# nap_e = detectors.create("nap_e").fit(train, adapter.head, heldout)      # w searched on heldout
# ada = detectors.AdaScaleA(p_min=60, p_max=90, k2=10).fit(None, adapter.head, heldout, adapter=adapter)
# ```
