"""Image classifiers. Each takes ``in_channels``, ``image_size`` and ``num_classes`` (filled in
by the task from the data) plus its own settings from ``model=...`` configs."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from taskhub import UserError


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


class TorchvisionClassifier(nn.Module):
    """Any torchvision classification model by name (``model.name=resnet18``).

    Nothing downloads unless asked: ``weights`` is a local state-dict file, or a torchvision
    weights name (``DEFAULT``, ``IMAGENET1K_V1``) to download. The classifier layer is resized
    to ``num_classes``; grayscale input is repeated to 3 channels.
    """

    def __init__(self, in_channels: int, image_size: Sequence[int], num_classes: int,
                 name: str = "resnet18", weights: str | None = None, min_size: int = 32) -> None:
        super().__init__()
        import torchvision

        available = torchvision.models.list_models(module=torchvision.models)
        if name not in available:
            from taskhub import unknown_choice

            raise unknown_choice("torchvision model", name, available, "(model.name)")
        self.repeat = 3 if in_channels == 1 else 1
        self.min_size = min_size
        local = weights is not None and (Path(str(weights)).suffix in (".pt", ".pth") or Path(str(weights)).exists())
        hub_weights = None if (weights is None or local) else weights
        self.net = torchvision.models.get_model(name, weights=hub_weights)
        if local:
            path = Path(str(weights)).expanduser()
            if not path.is_file():
                raise UserError(f"model.weights={weights}: file not found")
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state) if isinstance(state, dict) else state
            self.net.load_state_dict(state)
        _replace_head(self.net, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.repeat > 1:
            x = x.repeat(1, self.repeat, 1, 1)
        if min(x.shape[-2:]) < self.min_size:  # deep ImageNet models downsample 32x; tiny inputs vanish
            x = nn.functional.interpolate(x, size=(self.min_size, self.min_size), mode="bilinear", align_corners=False)
        return self.net(x)


def _replace_head(net: nn.Module, num_classes: int) -> None:
    """Swap the last Linear layer of a torchvision classifier for one with ``num_classes`` outputs."""
    for attr in ("fc", "classifier", "head", "heads"):
        module = getattr(net, attr, None)
        if isinstance(module, nn.Linear):
            setattr(net, attr, nn.Linear(module.in_features, num_classes))
            return
        if isinstance(module, nn.Sequential):
            for i in reversed(range(len(module))):
                if isinstance(module[i], nn.Linear):
                    module[i] = nn.Linear(module[i].in_features, num_classes)
                    return
    raise UserError(f"cannot find the classification layer of {type(net).__name__} to resize it")
