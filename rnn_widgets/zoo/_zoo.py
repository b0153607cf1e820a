"""Loading, describing, evaluating and (re)training the shipped models.

Each model ``NAME`` ships as two files in ``rnn_widgets/zoo/weights/``: ``NAME.pt``, its
``state_dict`` (read with ``torch.load(..., weights_only=True)``: plain tensors, never a
pickled object), and ``NAME.json``: its architecture, vocabulary or class names, the held-out
metrics measured after training, its size, training time and the losses of a short seeded
smoke run that the tests repeat.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..models import RecurrentModel
from ..tasks import TaskData
from ._network import Network, Spec, loadable
from ._recipes import RECIPES, Recipe
from ._train import TrainResult

__all__ = [
    "WEIGHTS",
    "ZooInfo",
    "data",
    "evaluate",
    "info",
    "load",
    "names",
    "network",
    "train_and_save",
]

#: The folder of the shipped weights: ``<name>.pt`` (state dict) and ``<name>.json`` (metadata).
WEIGHTS = Path(__file__).parent / "weights"

#: The length of the seeded training run whose losses are stored and re-checked by the tests.
_SMOKE_STEPS = 12


@dataclass(frozen=True)
class ZooInfo:
    """What the zoo knows about one shipped model (from its metadata file).

    Attributes
    ----------
    name, description : str
    spec : Spec
        Its architecture.
    vocab : tuple of str or None
        Input tokens, in id order (token tasks).
    classes : tuple of str or None
        Output names (classification and value tasks).
    metric_name : str
        The held-out figure with a floor.
    metric : float
        Its value, measured after training.
    floor : float
    higher_is_better : bool
    metrics : dict of str to float
        Every held-out figure measured.
    parameters : int
    size_bytes : int
        Of the weights file.
    training_seconds : float
    steps, seed : int
    smoke_losses : list of float
        The losses of the short seeded training run that the tests repeat.
    trained_with : str
        The torch and Python versions that trained it.

    """

    name: str
    description: str
    spec: Spec
    vocab: tuple[str, ...] | None
    classes: tuple[str, ...] | None
    metric_name: str
    metric: float
    floor: float
    higher_is_better: bool
    metrics: dict[str, float]
    parameters: int
    size_bytes: int
    training_seconds: float
    steps: int
    seed: int
    smoke_losses: list[float]
    trained_with: str


def names() -> tuple[str, ...]:
    """The names of the shipped models this install can load, sorted.

    A Mamba needs the ``hf`` extra (``transformers``): without it the Mamba models are left
    out, and loading one by name (`load`, `network`, `evaluate`) raises an ImportError naming
    the extra; its `info` and `data` need no ``transformers``.
    """
    return tuple(sorted(name for name, recipe in RECIPES.items() if loadable(recipe.family)))


def _recipe(name: Any) -> Recipe:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in RECIPES:
        raise ValueError(f"{name!r} is not a zoo model; choose from {list(names())}")
    return RECIPES[name]


def info(name: str) -> ZooInfo:
    """The metadata of a shipped model: architecture, metrics, size, training time."""
    _recipe(name)
    path = WEIGHTS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"zoo model {name!r} has no weights in {WEIGHTS}; train it with "
            f"python -m rnn_widgets.zoo train {name}"
        )
    return _read_info(path)


def _read_info(path: Path) -> ZooInfo:
    values = json.loads(path.read_text())
    values["spec"] = Spec.from_dict(values["spec"])
    for key in ("vocab", "classes"):
        values[key] = tuple(values[key]) if values[key] is not None else None
    return ZooInfo(**values)


def network(name: str) -> Network:
    """The shipped network itself (a ``torch.nn.Module`` in eval mode), for training or study."""
    return _shipped_network(name)


def _shipped_network(name: str) -> Network:
    shipped = Network(info(name).spec)
    state = torch.load(WEIGHTS / f"{name}.pt", map_location="cpu", weights_only=True)
    shipped.load_state_dict(state)
    return shipped.eval()


def load(name: str) -> RecurrentModel:
    """A shipped model behind the model adapter, ready for ``capture`` and every analysis.

    Examples
    --------
    >>> from rnn_widgets import zoo, tasks, capture
    >>> model = zoo.load("parentheses_lstm")
    >>> trace = capture(model, tasks.parentheses(3, 50, seed=5).sequences, progress=False)

    """
    return network(name).recurrent_model(info(name).vocab)


def data(name: str, split: str = "test") -> TaskData:
    """The task data a model was trained on (``"train"``) or is judged on (``"test"``)."""
    recipe = _recipe(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return recipe.train_data() if split == "train" else recipe.test_data()


def evaluate(name: str, network: Network | None = None) -> dict[str, float]:
    """Measure a model's held-out figures (the shipped one unless ``network`` is given)."""
    recipe = _recipe(name)
    chosen = network if network is not None else _shipped_network(name)
    return recipe.metric(chosen, recipe.test_data())


def _smoke_losses(name: str) -> list[float]:
    """The losses of a short seeded training run, as stored in the metadata (test support)."""
    recipe = _recipe(name)
    return _train_recipe(recipe, recipe.train_data(), _SMOKE_STEPS, progress=False).losses


def _train_recipe(recipe: Recipe, task: TaskData, steps: int, progress: bool) -> TrainResult:
    return dataclasses.replace(recipe, steps=steps).train(task, progress=progress)


def train_and_save(
    name: str, directory: Path = WEIGHTS, steps: int | None = None, progress: bool = True
) -> ZooInfo:
    """Train a zoo model from its recipe, measure it, and write its two files."""
    recipe = _recipe(name)
    task = recipe.train_data()
    spec = recipe.spec(task)
    steps = recipe.steps if steps is None else steps
    result = _train_recipe(recipe, task, steps, progress)
    metrics = recipe.metric(result.network, recipe.test_data())
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{name}.pt"
    _atomic_save(result.network.state_dict(), weights)
    meta = {
        "name": name,
        "description": recipe.description,
        "spec": spec.to_dict(),
        "vocab": list(task.vocab) if task.vocab is not None else None,
        "classes": list(task.classes) if task.classes is not None else None,
        "metric_name": recipe.metric_name,
        "metric": metrics[recipe.metric_name],
        "floor": recipe.floor,
        "higher_is_better": recipe.higher_is_better,
        "metrics": metrics,
        "parameters": sum(p.numel() for p in result.network.parameters()),
        "size_bytes": weights.stat().st_size,
        "training_seconds": round(result.seconds, 1),
        "steps": steps,
        "seed": recipe.seed,
        "smoke_losses": _smoke_losses(name),
        "trained_with": f"torch {torch.__version__}, Python {platform.python_version()}",
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(meta, indent=1) + "\n")
    return _read_info(path)


def _atomic_save(state: dict[str, torch.Tensor], path: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(state, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
