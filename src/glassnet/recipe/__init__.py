"""The recipe: what every front door shares, so that none restates a rule.

- ``targets``: the task, the output layer and loss, the labels and their encoding, the scaling
  of a regression target (``Target``, ``output_layer``);
- ``columns``: raw columns to network inputs (impute, indicate, one-hot, scale), stored as
  data in the model file (``Preprocessor``);
- ``options``: every training option, declared and checked once (``TrainOptions``);
- ``build``: the network and the optimizer the options describe;
- ``model``: preprocessing, network and target together, read back from a model file and
  checked (``Model``);
- ``train``: options and a data set in, a trained ``Model`` out.

The command, the estimators, ``tune``, the playground and its generated ``train.py`` call
these.
"""

from __future__ import annotations

from .build import build_network, build_optimizer, learning_rate_schedule
from .columns import Preprocessor
from .model import Model
from .options import TrainOptions, parse_layers
from .targets import Target, detect_task, output_layer

__all__ = ["Target", "output_layer", "detect_task", "Preprocessor", "TrainOptions",
           "parse_layers", "build_network", "build_optimizer", "learning_rate_schedule",
           "Model"]
