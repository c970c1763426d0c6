"""Random-weight classifiers in the real format, for tests (never download weights)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def build_random_classifier(
    folder: str | Path,
    labels: Sequence[str],
    arch: str = "efficientnet_b1",
    image_size: int = 240,
    thresholds: dict[str, float] | None = None,
    seed: int = 0,
) -> Path:
    """Write a TorchScript classifier folder (TrapTagger's layout) with random weights.

    ``efficientnet_b1`` at 240 px is TrapTagger's classifier; ``mobilenet_v3_small``
    is quicker for tests.
    """
    import torch
    import torchvision

    torch.manual_seed(seed)
    network = getattr(torchvision.models, arch)(weights=None, num_classes=len(labels)).eval()
    for layer in network.modules():  # default heads start near-uniform: make answers differ
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.normal_(layer.weight, std=0.5)
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    torch.jit.script(network).save(str(root / "classifier.pt"))
    index = {str(i): name for i, name in enumerate(labels)}
    (root / "label_index.json").write_text(json.dumps(index))
    meta = {
        "name": root.name,
        "arch": arch,
        "image_size": image_size,
        "thresholds": thresholds or {},
    }
    (root / "classifier.json").write_text(json.dumps(meta, indent=1))
    return root
