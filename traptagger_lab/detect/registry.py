"""Which detector a name means, where its weights are, and its thresholds (from models.json)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from traptagger_lab.errors import ConfigurationError

log = logging.getLogger(__name__)

MODELS_FILE = Path(__file__).with_name("models.json")
#: Relevance threshold of detectors models.json does not know (MDv5a's).
DEFAULT_TYPICAL = 0.2


@dataclass(frozen=True)
class DetectorSpec:
    """A resolved detector: its name (what results record), weights and thresholds."""

    name: str
    weights: Path
    typical: float = DEFAULT_TYPICAL
    conservative: float = 0.05


@cache
def known_models() -> dict[str, dict[str, Any]]:
    """The detectors listed in ``models.json`` (name -> facts)."""
    document = json.loads(MODELS_FILE.read_text())
    models: dict[str, dict[str, Any]] = document["models"]
    return models


def resolve(model: str, model_dir: Path | None = None, download: bool = True) -> DetectorSpec:
    """Resolve a model name (``MDV5A``...) or a path to a ``.pt`` file.

    Named models are looked for in ``model_dir`` (``TRAPTAGGER_MODEL_DIR``); when
    absent there and ``download`` is true, megadetector's own downloader fetches
    them (machines with internet only).

    Raises:
        ConfigurationError: for an unknown name with no such file, or weights that cannot be had.
    """
    path = Path(model).expanduser()
    if path.suffix == ".pt" or path.is_file():
        if not path.is_file():
            raise ConfigurationError(f"no detector weights at {path}")
        facts = known_models().get(path.stem.upper(), {})
        return DetectorSpec(
            name=path.stem.upper() if facts else path.stem,
            weights=path.resolve(),
            typical=float(facts.get("typical", DEFAULT_TYPICAL)),
            conservative=float(facts.get("conservative", 0.05)),
        )
    named = known_models().get(model.upper())
    if named is None:
        raise ConfigurationError(
            f"unknown detector {model!r}: use a .pt file or one of {sorted(known_models())}"
        )
    facts = named
    weights = (model_dir / facts["file"]) if model_dir else None
    if weights is None or not weights.is_file():
        if not download:
            raise ConfigurationError(
                f"{model}: weights {facts['file']} not found in TRAPTAGGER_MODEL_DIR ({model_dir})"
            )
        weights = _download(facts["megadetector_name"])
    return DetectorSpec(
        model.upper(), weights, float(facts["typical"]), float(facts["conservative"])
    )


def _download(name: str) -> Path:
    """megadetector's own download of a known model (needs internet)."""
    from megadetector.detection.run_detector import try_download_known_detector

    try:
        return Path(try_download_known_detector(name))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot download {name} ({exc}); put its weights in TRAPTAGGER_MODEL_DIR"
        ) from exc
