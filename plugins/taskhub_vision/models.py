"""Image classifiers. Each takes ``in_channels``, ``image_size`` and ``num_classes`` (filled in
by the task from the data) plus its own settings from ``model=...`` configs."""
from __future__ import annotations

import contextlib
import io
import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from taskhub import UserError

log = logging.getLogger("taskhub")


def _activation(name: str) -> nn.Module:
    options = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU, "leaky_relu": nn.LeakyReLU}
    if name not in options:
        raise UserError(f"model.activation={name}: choose one of {', '.join(options)}")
    return options[name]()


class MLP(nn.Sequential):
    """The original spec's FNN: flatten, Dense(64, relu) layers, then the class scores."""

    def __init__(self, in_channels: int, image_size: Sequence[int], num_classes: int,
                 hidden: Sequence[int] = (64,), activation: str = "relu", dropout: float = 0.0) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_channels * image_size[0] * image_size[1]
        for h in hidden:
            layers += [nn.Linear(width, h), _activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)


class SimpleCNN(nn.Sequential):
    """The original spec's CNN: [Conv2D(32, 3x3, relu), MaxPool(2)] x depth, Flatten, Dense(128, relu), output.

    ``channels`` sets depth and width (one conv block per entry).
    """

    def __init__(self, in_channels: int, image_size: Sequence[int], num_classes: int,
                 channels: Sequence[int] = (32,), kernel_size: int = 3, hidden_size: int = 128,
                 dropout: float = 0.0, batch_norm: bool = False, hidden: int | None = None) -> None:
        if hidden is not None:  # the name before 0.2 (other plugins say hidden_size)
            import warnings

            warnings.warn("model.hidden is deprecated for the vision cnn: use model.hidden_size", DeprecationWarning,
                          stacklevel=2)
            hidden_size = hidden
        layers: list[nn.Module] = []
        c, (h, w) = in_channels, image_size
        for out in channels:
            layers.append(nn.Conv2d(c, out, kernel_size))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            # max-pool then ReLU equals ReLU then max-pool exactly (both are monotone), on 4x fewer values
            layers += [nn.MaxPool2d(2), nn.ReLU(inplace=True)]
            c, h, w = out, (h - kernel_size + 1) // 2, (w - kernel_size + 1) // 2
            if h < 1 or w < 1:
                raise UserError(f"model.channels={list(channels)}: too many conv blocks for {image_size[0]}x{image_size[1]} images")
        layers += [nn.Flatten(), nn.Linear(c * h * w, hidden_size), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden_size, num_classes))
        super().__init__(*layers)
        # channels-last convolution and pooling run several times faster on CPUs (and suit GPUs' tensor cores)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.contiguous(memory_format=torch.channels_last))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A small residual CNN (ResNet-style stages of basic blocks) for small images."""

    def __init__(self, in_channels: int, image_size: Sequence[int], num_classes: int,
                 widths: Sequence[int] = (32, 64, 128), blocks: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, c = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(blocks):
                stages.append(BasicBlock(c, w, 2 if (i > 0 and j == 0) else 1))
                c = w
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


#: torchvision's classification weights are ImageNet-trained: the normalisation they expect
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: layers that count with the block before them when ``model.freeze`` counts blocks
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


class TorchvisionClassifier(nn.Module):
    """Any torchvision classification model by name (``model.name=resnet18``).

    Nothing downloads unless asked: ``weights`` is a local state-dict file, or a torchvision
    weights name (``DEFAULT``, ``IMAGENET1K_V1``) to download. The classifier layer is resized
    to ``num_classes``; grayscale input is repeated to 3 channels. ``freeze`` (see
    :func:`freeze_backbone`) trains only the head, or the head and the last N blocks.
    """

    def __init__(self, in_channels: int, image_size: Sequence[int], num_classes: int,
                 name: str = "resnet18", weights: str | None = None, min_size: int = 32,
                 freeze: int | str | None = None) -> None:
        super().__init__()
        import torchvision

        available = torchvision.models.list_models(module=torchvision.models)
        if name not in available:
            from taskhub import unknown_choice

            raise unknown_choice("torchvision model", name, available, "(model.name)")
        self.repeat = 3 if in_channels == 1 else 1
        self.min_size = min_size
        local = weights is not None and _is_local(weights)
        self.net = torchvision.models.get_model(name) if weights is None or local else _download(name, weights)
        if local:
            _load_file(self.net, name, str(weights))
        head = _replace_head(self.net, num_classes)
        self.frozen = freeze not in (None, 0, "none")
        if self.frozen:
            freeze_backbone(self.net, head, freeze)

    @staticmethod
    def pretrained_normalisation(settings: Any) -> tuple[list[float], list[float], str] | None:
        """The mean and std the weights in ``settings`` (the model config) expect, with the
        reason; None when the model starts from random weights. The vision task asks this for
        ``dataset.mean/std: auto``."""
        weights, name = settings.get("weights"), str(settings.get("name") or "resnet18")
        if weights is None:
            return None
        if _is_local(weights):
            return (list(IMAGENET_MEAN), list(IMAGENET_STD),
                    "ImageNet's: torchvision classification weights, as in model.weights' file, are ImageNet-trained "
                    "(set dataset.mean and dataset.std for others)")
        w = _named_weights(name, str(weights))
        preprocess = w.transforms()
        return ([round(float(v), 4) for v in preprocess.mean], [round(float(v), 4) for v in preprocess.std],
                f"the pretrained weights' own: {type(w).__name__}.{w.name}.transforms()")

    def train(self, mode: bool = True) -> TorchvisionClassifier:
        # Frozen parts keep the statistics they were trained with: their BatchNorm layers stay in
        # eval mode (running mean and variance neither used from the batch nor updated).
        super().train(mode)
        if mode and self.frozen:
            for m in self.net.modules():
                params = list(m.parameters(recurse=False))
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and params and not any(
                        p.requires_grad for p in params):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.repeat > 1:
            x = x.repeat(1, self.repeat, 1, 1)
        if min(x.shape[-2:]) < self.min_size:  # deep ImageNet models downsample 32x; tiny inputs vanish
            x = nn.functional.interpolate(x, size=(self.min_size, self.min_size), mode="bilinear", align_corners=False)
        return self.net(x)


def _is_local(weights: Any) -> bool:
    """A path (``.pt``/``.pth``, one with a ``/``, or anything that exists), not a weights name."""
    path = Path(str(weights)).expanduser()
    return path.suffix in (".pt", ".pth") or "/" in str(weights) or path.exists()


def _named_weights(name: str, weights: str) -> Any:
    """The torchvision weights enum member ``weights`` (``DEFAULT``, ``IMAGENET1K_V1`` or
    ``ResNet18_Weights.IMAGENET1K_V1``) of model ``name``; an unknown one lists the valid names."""
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(name)
    except (KeyError, ValueError):
        enum = None
    choices = list(enum.__members__) if enum is not None else []
    short = weights.replace(f"{enum.__name__}.", "") if enum is not None else weights
    if short not in choices:
        listed = ", ".join(choices) if choices else "none: torchvision ships no weights for it"
        raise UserError(f"model.weights={weights}: not a weights name of {name}; choose one of {listed} "
                        f"(they download), or pass a local file: model.weights=/path/{name}.pth")
    return enum[short]


def _download(name: str, weights: str) -> nn.Module:
    """torchvision's ``name`` with the named weights (downloaded, or from torch.hub's cache); no
    network is one line asking for a local file."""
    import torchvision

    w = _named_weights(name, weights)
    log.info("model.weights=%s: %s (downloads once into torch.hub's cache, %s)", weights, w.url, torch.hub.get_dir())
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torch.hub's own "Downloading: ..." line: logged above
            return torchvision.models.get_model(name, weights=w)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a broken download fails its hash check
        raise UserError(f"model.weights={weights}: could not download {name}'s weights (no network?); "
                        f"download them elsewhere ({w.url}) and pass the file: model.weights=/path/{name}.pth") from exc


def _load_file(net: nn.Module, name: str, weights: str) -> None:
    """Load a state-dict file into ``net`` (torchvision's ``name``, before its head is resized).

    The file is data: ``torch.load(weights_only=True)`` never runs code from it. It may be a
    plain state dict, one under ``state_dict`` or ``model`` (a taskhub checkpoint), with
    ``module.``/``net.`` prefixes; a head for another number of classes is skipped (it is
    replaced anyway). Anything else that does not fit is one line naming the file."""
    setting = f"model.weights={weights}"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(f"{setting}: file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, or a pickle that would run code
        if "weights only load failed" in str(exc).lower():
            raise UserError(f"{setting}: {path} holds pickled objects besides tensors, and a weights file is read "
                            f"as data only (torch.load weights_only=True, which runs no code from it); save "
                            f"model.state_dict() instead") from None
        raise UserError(f"{setting}: {path} is not a file torch.save wrote ({type(exc).__name__} reading it)") from None
    if isinstance(state, dict):
        state = next((state[k] for k in ("state_dict", "model") if isinstance(state.get(k), dict)), state)
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{setting}: {path} holds no state dict (parameter names to tensors); save one with "
                        f"torch.save(model.state_dict(), path)")
    metadata = getattr(state, "_metadata", None)  # BatchNorm reads its version from it
    for prefix in ("module.", "net."):  # DistributedDataParallel's, TorchvisionClassifier's
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    head = _find_head(net)[2]
    own = net.state_dict()
    fits = OrderedDict((k, v) for k, v in state.items()
                       if not (k.startswith(head + ".") and k in own and v.shape != own[k].shape))
    if metadata is not None:
        fits._metadata = metadata  # type: ignore[attr-defined]
    shapes = [k for k, v in fits.items() if k in own and v.shape != own[k].shape]
    problems = [f"{k} is {list(fits[k].shape)}, not {list(own[k].shape)}" for k in shapes[:2]]
    if not shapes:
        result = net.load_state_dict(fits, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(head + ".")]
        if missing:
            problems.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if result.unexpected_keys:
            problems.append(f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[0]})")
    if problems:
        raise UserError(f"{setting}: {path} does not fit torchvision's {name} ({'; '.join(problems)}); pass "
                        f"a state dict saved from {name} (torch.save(model.state_dict(), path)) or set model.name")


def _find_head(net: nn.Module) -> tuple[nn.Module, str, str]:
    """The last Linear layer of a torchvision classifier: (its parent, its key there, its name)."""
    for attr in ("fc", "classifier", "head", "heads"):
        module = getattr(net, attr, None)
        if isinstance(module, nn.Linear):
            return net, attr, attr
        if isinstance(module, nn.Sequential):
            for key, layer in reversed(list(module.named_children())):
                if isinstance(layer, nn.Linear):
                    return module, key, f"{attr}.{key}"
    raise UserError(f"cannot find the classification layer of {type(net).__name__} to resize it")


def _replace_head(net: nn.Module, num_classes: int) -> nn.Linear:
    """Swap the last Linear layer of a torchvision classifier for one with ``num_classes`` outputs."""
    parent, key, _ = _find_head(net)
    head = nn.Linear(getattr(parent, key).in_features, num_classes)
    setattr(parent, key, head)
    return head


def backbone_blocks(net: nn.Module, head: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """The network's blocks in order, without the head, as (name, parameters): its top-level
    children that hold weights. A level with fewer than three (VGG's, MobileNet's, EfficientNet's
    ``features``, ViT's ``encoder``) is opened, and so is a container holding the head; a lone
    normalisation layer counts with the block before it; a container's own parameters (ViT's
    class token and position embedding) with its first block."""
    skip = {id(p) for p in head.parameters()}

    def weights(m: nn.Module, recurse: bool = True) -> list[nn.Parameter]:
        return [p for p in m.parameters(recurse=recurse) if id(p) not in skip]

    def holds_head(m: nn.Module) -> bool:
        return any(sub is head for sub in m.modules())

    def split(module: nn.Module, prefix: str) -> list[tuple[str, list[nn.Parameter], bool]]:
        children = [(f"{prefix}{n}", c) for n, c in module.named_children() if weights(c)]
        few = sum(not holds_head(c) for _, c in children) < 3
        out: list[tuple[str, list[nn.Parameter], bool]] = []
        for path, child in children:
            if list(child.children()) and (holds_head(child) or few):
                out += split(child, path + ".")
            else:
                out.append((path, weights(child), isinstance(child, _NORMS)))
        own = weights(module, recurse=False)
        if own and out:
            out[0] = (out[0][0], own + out[0][1], out[0][2])
        return out

    blocks: list[tuple[str, list[nn.Parameter]]] = []
    for path, params, norm in split(net, ""):
        if norm and blocks:
            blocks[-1] = (f"{blocks[-1][0]}+{path}", blocks[-1][1] + params)
        else:
            blocks.append((path, params))
    return blocks


def freeze_backbone(net: nn.Module, head: nn.Module, freeze: int | str) -> None:
    """``model.freeze``: ``head`` trains only the (new) classification layer; a number N also the
    last N blocks of :func:`backbone_blocks`. Frozen parameters get no gradient (the optimizer
    skips them); :meth:`TorchvisionClassifier.train` keeps their BatchNorm layers in eval mode."""
    if isinstance(freeze, bool) or (isinstance(freeze, str) and freeze != "head" and not freeze.isdigit()) or (
            isinstance(freeze, int) and freeze < 0):
        raise UserError(f"model.freeze={freeze}: choose head (train the head only), a number N (the head "
                        f"and the last N blocks), or null (train everything)")
    keep = 0 if freeze == "head" else int(freeze)
    blocks = backbone_blocks(net, head)
    if keep > len(blocks):
        raise UserError(f"model.freeze={keep}: {type(net).__name__} has {len(blocks)} blocks "
                        f"({', '.join(n for n, _ in blocks)}); model.freeze=null trains everything")
    for p in net.parameters():
        p.requires_grad_(False)
    chosen = blocks[len(blocks) - keep:] if keep else []
    for p in [*head.parameters(), *(p for _, params in chosen for p in params)]:
        p.requires_grad_(True)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in net.parameters())
    what = "the head" if not keep else f"the head and the last {keep} blocks: {', '.join(n for n, _ in chosen)}"
    log.info("model.freeze=%s: %s of %s parameters train (%s)", freeze, f"{trainable:,}", f"{total:,}", what)
