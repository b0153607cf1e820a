"""Small pretrained models shipped inside the package, with the code that trains them.

>>> from rnn_widgets import zoo
>>> zoo.names()  # doctest: +SKIP
>>> model = zoo.load("parentheses_lstm")  # a RecurrentModel, ready for capture  # doctest: +SKIP

Each model is reproducible with ``python -m rnn_widgets.zoo train NAME`` (fixed seed) and is
judged on held-out data against a quality floor; ``zoo.info(NAME)`` holds the measured
figures, its size and training time. See docs/zoo.md.

``RECIPES[NAME].train()`` trains a new network by a recipe (every field of it; replace fields
for a variant), ``train(spec, task, ...)`` one of any architecture with the same seeded
routine.
"""

from ._network import Network, Spec
from ._recipes import RECIPES, Recipe
from ._train import TrainResult, train
from ._zoo import (
    WEIGHTS,
    ZooInfo,
    data,
    evaluate,
    info,
    load,
    names,
    network,
    train_and_save,
)

__all__ = [
    "RECIPES",
    "WEIGHTS",
    "Network",
    "Recipe",
    "Spec",
    "TrainResult",
    "ZooInfo",
    "data",
    "evaluate",
    "info",
    "load",
    "names",
    "network",
    "train",
    "train_and_save",
]
