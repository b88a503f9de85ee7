"""scikit-learn estimators over ``Network``: ``NeuralNetClassifier`` and ``NeuralNetRegressor``.

They take the parameter names of scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` where the
concept is the same, so either can be swapped in, and add what MLP users have long asked for:
``dropout``, one activation per hidden layer, ``validation_loss_curve_``, early stopping on the
validation loss, ``sample_weight``, ``partial_fit`` and float32 training that does not upcast.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import activations as activations_mod
from . import engines
from .callbacks import Callback
from .errors import DivergenceError
from .layers import Dense, Dropout
from .losses import class_indices
from .network import Network
from .optimizers import SGD, Adam, AdamW, RMSprop
from .training import fit

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

_SOLVERS = ("sgd", "adam", "adamw", "rmsprop")


class _Convergence(Callback):
    """scikit-learn's stopping rule: stop when the monitored loss has not improved by ``tol``
    for ``n_iter_no_change`` epochs in a row; optionally restore the best weights."""

    def __init__(self, monitor, tol, n_iter_no_change, restore_best):
        self.monitor, self.tol, self.patience = monitor, tol, n_iter_no_change
        self.restore_best = restore_best
        self.reads_weights = restore_best      # else the rule reads the loss alone
        self.converged = False

    def on_train_begin(self, net, history):
        self.best, self.wait, self.best_params = np.inf, 0, None

    def on_epoch_end(self, epoch, logs, net, history):
        value = logs[self.monitor]
        if value > self.best - self.tol:
            self.wait += 1
        else:
            self.wait = 0
        if value < self.best:
            self.best = value
            history.best_epoch = epoch
            if self.restore_best:
                self.best_params = net.params.copy()
        if self.wait >= self.patience:
            self.converged = True
            return True
        return False

    def on_train_end(self, net, history):
        if self.restore_best and self.best_params is not None:
            net.params = self.best_params


class _BaseNeuralNet(BaseEstimator):
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(activations_mod.NAMES) - {"softmax"}), list, tuple],
        "solver": [StrOptions(set(_SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dtype": [StrOptions({"float64", "float32"})],
        "engine": [StrOptions(set(engines.NAMES)), engines.Engine],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, dropout=0.0, dtype="float64",
                 engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.dtype = dtype
        self.engine = engine

    # ----------------------------------------------------------------- building blocks
    def _hidden(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes!r}")
        acts = self.activation
        acts = [acts] * len(sizes) if isinstance(acts, str) else list(acts)
        if len(acts) != len(sizes):
            raise ValueError(f"activation has {len(acts)} entries but hidden_layer_sizes has "
                             f"{len(sizes)} layers; give one activation per hidden layer")
        return sizes, acts

    def _architecture(self) -> dict:
        """What the fitted network is made of; warm_start and partial_fit continue it only
        while these parameters are unchanged."""
        sizes, acts = self._hidden()
        return {"hidden_layer_sizes": tuple(int(s) for s in sizes), "activation": tuple(acts),
                "dropout": self.dropout, "dtype": self.dtype}

    def _check_same_architecture(self):
        changed = {k: (v, self._fitted_architecture[k]) for k, v in self._architecture().items()
                   if v != self._fitted_architecture[k]}
        if changed:
            what = "; ".join(f"{k} is {new!r}, the network was fitted with {old!r}"
                             for k, (new, old) in changed.items())
            raise ValueError(f"warm_start and partial_fit continue the fitted network, but {what}."
                             " Set warm_start=False (or make a new estimator) to fit a new one")

    def _make_network(self, n_features, n_outputs, head):
        self._fitted_architecture = self._architecture()
        sizes, acts = self._hidden()
        layers = []
        for size, act in zip(sizes, acts):
            layers.append(Dense(int(size), act))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(n_outputs, head))
        seed = self.random_state
        if isinstance(seed, Integral):
            seed = int(seed)
        return Network(layers, input_dim=n_features, seed=seed, dtype=self.dtype)

    def _batch_size(self, n_samples):
        if self.batch_size is None:
            return None
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(f"Got batch_size={self.batch_size} > n_samples={n_samples}: using the "
                          "whole training set as one batch", UserWarning, stacklevel=3)
        return min(self.batch_size, n_samples)

    def _make_optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return SGD(lr, momentum=self.momentum,
                       nesterov=self.nesterovs_momentum and self.momentum > 0)
        if self.solver == "adam":
            return Adam(lr)
        if self.solver == "adamw":
            return AdamW(lr, weight_decay=self.alpha)
        return RMSprop(lr)

    # ----------------------------------------------------------------- training
    def _train(self, X, targets, sample_weight, incremental, continued=False):
        """Run the fit loop; ``incremental``: one epoch (partial_fit); ``continued``: a warm
        start, whose curves and iteration count carry on from the last fit."""
        net = self.network_
        n = len(X)
        batch_size = self._batch_size(n)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        callbacks, stopper = [], None
        kwargs = {}
        if not incremental:
            monitor = "val_loss" if self.early_stopping else "loss"
            stopper = _Convergence(monitor, self.tol, self.n_iter_no_change,
                                   restore_best=self.early_stopping)
            callbacks.append(stopper)
            if self.early_stopping:
                kwargs["validation_split"] = self.validation_fraction
        epochs = 1 if incremental else self.max_iter
        try:
            history = fit(net, X, targets, optimizer=self._optimizer, epochs=epochs,
                          batch_size=batch_size, shuffle=self.shuffle,
                          sample_weight=sample_weight, callbacks=callbacks,
                          l2=0.0 if self.solver == "adamw" else self.alpha,
                          verbose=int(bool(self.verbose)), engine=self.engine, **kwargs)
        except DivergenceError as exc:
            warnings.warn(f"{exc} Stopped early; the model keeps its last finite weights.",
                          ConvergenceWarning, stacklevel=3)
            history = net.history
        keep = incremental or continued
        self.loss_curve_ = (self.loss_curve_ if keep else []) + list(history.history.get(
            "loss", []))
        if "val_loss" in history:
            previous = getattr(self, "validation_loss_curve_", []) if continued else []
            self.validation_loss_curve_ = previous + list(history["val_loss"])
            self.best_validation_loss_ = min(self.validation_loss_curve_)
        self.n_iter_ = (self.n_iter_ if keep else 0) + len(history)
        self.t_ = self._optimizer.iterations
        if self.loss_curve_:
            self.best_loss_ = min(self.loss_curve_)
        if stopper is not None and not stopper.converged and len(history) == self.max_iter:
            warnings.warn(f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=3)
        return self

    def _check_X_predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.dtype(self.dtype).type)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)`` (views into the network)."""
        check_is_fitted(self)
        return [layer.W for layer in self.network_.dense_layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape ``(n_out,)``."""
        check_is_fitted(self)
        return [layer.b for layer in self.network_.dense_layers]


class NeuralNetClassifier(ClassifierMixin, _BaseNeuralNet):
    """Multi-layer perceptron classifier on glassnet's from-scratch ``Network``.

    Binary problems get one sigmoid output and binary cross-entropy (the tutorials' network);
    more classes get a softmax output and categorical cross-entropy; a 2-D 0/1 indicator ``y``
    is multi-label (one sigmoid per label). Labels can be any values, strings included.

    Parameters are those of ``sklearn.neural_network.MLPClassifier`` where the concept is the
    same; in addition ``solver`` takes ``"adamw"`` and ``"rmsprop"``, ``batch_size=None`` means
    full-batch gradient descent (with ``solver="sgd", momentum=0`` that is the tutorials'
    loop), ``activation`` may list one activation per hidden layer, ``dropout`` is the
    dropout rate after every hidden layer, ``dtype="float32"`` trains in float32, and ``engine``
    is passed to ``fit`` (``"auto"``: the fastest engine that computes the same weights).

    Attributes
    ----------
    classes_, n_features_in_, n_outputs_, loss_curve_, validation_loss_curve_ (with
    early_stopping), n_iter_, t_, coefs_, intercepts_, network_ (the fitted ``Network``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _encode(self, y, classes=None, reset=True):
        """Targets for the network: class indices (softmax), 0/1 column(s) (sigmoid)."""
        if reset:
            kind = type_of_target(y, input_name="y")
            self._multilabel = kind == "multilabel-indicator"
        if self._multilabel:
            y = np.asarray(y)
            if reset:
                self.classes_ = np.arange(y.shape[1])
                self._label_dtype = y.dtype
            elif y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y must be an indicator matrix with {len(self.classes_)} "
                                 f"columns, got shape {np.shape(y)}")
            return y.astype(np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y) if classes is None else np.asarray(classes)
            if len(self.classes_) < 2:
                raise ValueError(f"a classifier needs samples of at least 2 classes; got 1 class "
                                 f"({self.classes_[0]!r}) in y")
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unseen = self.classes_[index] != y
        if unseen.any():
            raise ValueError(f"y contains labels the classifier was not told about: "
                             f"{np.unique(y[unseen])[:5].tolist()}; known classes are "
                             f"{self.classes_.tolist()}")
        return index.astype(np.float64)[:, None] if len(self.classes_) == 2 else index

    def _head(self):
        if self._multilabel:
            return len(self.classes_), "sigmoid"
        k = len(self.classes_)
        return (1, "sigmoid") if k == 2 else (k, "softmax")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X (n_samples, n_features)`` and labels ``y``; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        if not first:
            self._check_same_architecture()
        X, y = validate_data(self, X, y, reset=first, multi_output=True,
                             dtype=np.dtype(self.dtype).type)
        targets = self._encode(y, classes=classes, reset=first)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if first:
            n_out, head = self._head()
            self.n_outputs_ = n_out
            self.out_activation_ = head
            self.network_ = self._make_network(X.shape[1], n_out, head)
            self.loss_curve_ = []
            self.n_iter_ = 0
        return self._train(X, targets, sample_weight, incremental, continued=not first)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)``. The first call needs ``classes`` (all labels, as in
        scikit-learn), unless ``y`` is a multi-label indicator matrix."""
        if not hasattr(self, "network_"):
            if classes is None and type_of_target(y) != "multilabel-indicator":
                raise ValueError("classes must be passed on the first call to partial_fit: "
                                 "the list of every label the classifier will see")
            return self._fit(X, y, sample_weight, incremental=True,
                             classes=None if classes is None else np.unique(classes))
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={list(classes)!r} differs from the classes of the first "
                             f"call to partial_fit, {self.classes_.tolist()}")
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)`` (per label for multi-label)."""
        X = self._check_X_predict(X)
        p = self.network_.propagate(X)
        if self._multilabel or p.shape[1] > 1:
            return p
        return np.hstack([1 - p, p])

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels, shape ``(n_samples,)`` (``(n_samples, n_labels)`` multi-label)."""
        X = self._check_X_predict(X)
        p = self.network_.propagate(X)
        if self._multilabel:
            return (p > 0.5).astype(self._label_dtype)
        return self.classes_[class_indices(p)]


class NeuralNetRegressor(RegressorMixin, _BaseNeuralNet):
    """Multi-layer perceptron regressor (identity output, mean squared error) on glassnet's
    ``Network``; single- and multi-output. Parameters as ``NeuralNetClassifier``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X (n_samples, n_features)`` and ``y (n_samples,)`` or
        ``(n_samples, n_outputs)``; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental):
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        if not first:
            self._check_same_architecture()
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True,
                             dtype=np.dtype(self.dtype).type)
        y = np.asarray(y, dtype=X.dtype)
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self.out_activation_ = "identity"
            self.network_ = self._make_network(X.shape[1], self.n_outputs_, "identity")
            self.loss_curve_, self.n_iter_ = [], 0
        targets = y.reshape(len(y), -1)
        if targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {targets.shape[1]} outputs but the regressor was fitted "
                             f"with {self.n_outputs_}")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        return self._train(X, targets, sample_weight, incremental, continued=not first)

    def predict(self, X):
        """Predictions, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        X = self._check_X_predict(X)
        out = self.network_.propagate(X)
        return out[:, 0] if self._y_1d else out
