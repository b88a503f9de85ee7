"""Options and a data set in, a trained ``Model`` out: what ``glassnet train`` and ``tune``'s
trials run. No printing, no files (the checkpoint folder aside): the front door does those."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..callbacks import EarlyStopping
from ..errors import DivergenceError
from .build import build_network, build_optimizer
from .columns import Preprocessor
from .model import Model, check_image_shape
from .options import TrainOptions
from .targets import Target

__all__ = ["prepare", "train", "Prepared", "Result"]

#: without a validation split, training stops when its loss has not improved by TRAINING_TOL
#: for TRAINING_PATIENCE epochs (scikit-learn's MLP: tol, n_iter_no_change)
TRAINING_PATIENCE, TRAINING_TOL = 10, 1e-4


@dataclass
class Prepared:
    """A data set ready for the network: the model (untrained) and the encoded splits."""

    model: Model
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass
class Result:
    """What ``train`` gives: the model (the last good weights if the run diverged), the
    history, the optimizer it ran and the divergence, if any."""

    model: Model
    history: object
    optimizer: object
    diverged: DivergenceError | None = None


def prepare(options: TrainOptions, ds) -> Prepared:
    """Fit the target and the preprocessing on ``ds``'s training split and build the network.

    The classes come from both splits (a class seen only in the test rows is still a class);
    the target's and the columns' numbers from the training rows alone.
    """
    if ds.task == "regression" and ds.image_shape is not None:
        raise ValueError("a regression needs a table of features with a numeric label; image "
                         "data has classes")
    target = Target(ds.task)
    if ds.task == "classification":
        raw = np.concatenate([ds.y_train, ds.y_test])
        labels = ds.named(raw)
        # Class indices that the loader names (image folders, the cat files): its own order.
        target.fit(labels, classes=ds.classes if labels is not raw else None)
    else:
        target.fit(ds.y_train)
    # Images: each pixel centred on its training mean, its [0, 1] range kept. Raw pixels (all
    # positive, near 0.45) let Adam's first step shift every first-layer unit the same way on
    # every image, killing them: the cat photos trained to a constant "non-cat" on 4 seeds of
    # 4; centred, 0.72-0.76. Dividing by each pixel's spread too overfitted (0.58-0.78).
    scale = options.scale if options.scale != "auto" else \
        ("center" if ds.image_shape is not None else "standard")
    pre = Preprocessor(scale, options.max_categories).fit(ds.X_train, ds.feature_names)
    net = build_network(options.layers, options.activation, target.output_layer(),
                        input_dim=pre.n_inputs, dropout=options.dropout, seed=options.seed,
                        dtype=options.dtype, init=options.init_for(ds.image_shape is not None))
    model = Model(pre, net, target, check_image_shape(
        list(ds.image_shape) if ds.image_shape else None, pre.n_inputs))
    return Prepared(model, pre.transform(ds.X_train), target.encode(ds.named(ds.y_train)),
                    pre.transform(ds.X_test), target.encode(ds.named(ds.y_test)))


def train(options: TrainOptions, data: Prepared, *, callbacks=(), progress: bool = False,
          verbose: int = 0, checkpoint=None) -> Result:
    """Train ``data.model``'s network with ``options``: early stopping on a validation split
    of the training rows (``options.split_for``; the best weights kept), else the test split
    measured every ``validation_freq`` epochs for the loss plot. A run that diverges
    keeps the last weights that gave a finite loss (``Result.diverged`` says so)."""
    net = data.model.network
    optimizer = build_optimizer(options.optimizer, options.learning_rate,
                                momentum=options.momentum, schedule=options.schedule,
                                epochs=options.epochs)
    kwargs = {}
    n = len(data.X_train)
    if options.split_for(n):
        kwargs["validation_split"] = options.split_for(n)
        if options.patience_for(n):
            kwargs["early_stopping"] = options.patience_for(n)
    else:
        kwargs["validation_data"] = (data.X_test, data.y_test)
        kwargs["validation_freq"] = options.validation_freq or options.epochs
        if options.early_stopping == "auto":
            # scikit-learn's rule (tol=1e-4, n_iter_no_change=10) on the training loss. Its
            # regression loss is half the squared error, glassnet's MSE the whole: 2 tol here.
            tol = TRAINING_TOL * (2 if data.model.target.regression else 1)
            kwargs["early_stopping"] = EarlyStopping(TRAINING_PATIENCE, min_delta=tol,
                                                     monitor="loss",
                                                     restore_best_weights=False)
    diverged = None
    try:
        history = net.fit(data.X_train, data.y_train, optimizer=optimizer,
                          epochs=options.epochs, batch_size=options.batch_for(len(data.X_train)),
                          l2=options.l2, l1=options.l1, progress=progress, verbose=verbose,
                          checkpoint=checkpoint,
                          checkpoint_every=options.checkpoint_every or options.epochs,
                          callbacks=list(callbacks), **kwargs)
    except DivergenceError as exc:
        diverged, history = exc, net.history
    return Result(data.model, history, optimizer, diverged)
