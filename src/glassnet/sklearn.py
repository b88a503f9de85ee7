"""scikit-learn estimators over ``Network``: ``NeuralNetClassifier`` and ``NeuralNetRegressor``.

A drop-in for ``MLPClassifier`` / ``MLPRegressor``: the same parameters with the same meaning
(``solver`` ``"lbfgs"``, ``"sgd"`` or ``"adam"``; ``learning_rate`` ``"constant"``,
``"invscaling"`` or ``"adaptive"``; ``tol``, ``n_iter_no_change``, ``early_stopping`` on the
validation *score*, exactly as scikit-learn defines them), the same fitted attributes, and
scikit-learn's own MLP test file passes against them (``tests/test_sklearn_mlp_suite.py``).
Then what MLP users have long asked for and scikit-learn's frozen MLP module will not add:
``class_weight``, ``dropout``, every glassnet activation and one per hidden layer, the
validation-loss curve and early stopping on it (``early_stopping_monitor="loss"``), ``callbacks``,
``solver`` ``"adamw"`` and ``"rmsprop"``, full-batch gradient descent (``batch_size=None``,
which runs on glassnet's fast exact engines), ``dtype``, and ``engine``.
"""

from __future__ import annotations

import sys
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import activations as activations_mod
from . import engines
from ._checks import is_ready, warn_user
from .callbacks import Callback
from .errors import DivergenceError
from .lbfgs import minimize_lbfgs
from .losses import HalfSquaredError, PoissonLoss, class_indices
from .network import Network
from .optimizers import SGD, Adam, AdamW, RMSprop
from .recipe import build_network, output_layer
from .schedules import Schedule, constant
from .training import fit

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "register_skl2onnx"]

_STOCHASTIC = ("sgd", "adam", "adamw", "rmsprop")
_ACTIVATIONS = (set(activations_mod.NAMES) | {"logistic"}) - {"softmax", "exp"}
_NONFINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


class _InvScaling(Schedule):
    """scikit-learn's ``learning_rate="invscaling"``: the first epoch of a fit at
    ``learning_rate_init``, then ``learning_rate_init / (t + 1) ** power_t`` with ``t`` the
    samples seen so far (``t_``), counted across warm starts."""

    def __init__(self, initial, power_t, t_start, samples_per_epoch):
        self.initial, self.power_t = initial, power_t
        self.t_start, self.n = t_start, samples_per_epoch

    def __call__(self, epoch):
        if epoch == 0:
            return self.initial
        return self.initial / (self.t_start + epoch * self.n + 1) ** self.power_t


class _Adaptive(Schedule):
    """scikit-learn's ``learning_rate="adaptive"``: constant until the stopping rule fires,
    then divided by 5 (the monitor changes ``value``)."""

    def __init__(self, initial):
        self.value = initial

    def __call__(self, epoch):
        return self.value


class _VelocitySGD(SGD):
    """scikit-learn's momentum, with the learning rate inside the velocity:
    ``v = momentum v - lr g``, ``params += v`` (Nesterov: ``params += momentum v - lr g``).
    At a constant rate it is glassnet's (PyTorch's) SGD exactly; under ``invscaling`` or
    ``adaptive`` rates each step's rate stays in the velocity, as scikit-learn has it."""

    def _update(self, params, grad, lr):
        v, step = self._slot("velocity", params), self._scratch("step", params)
        v *= self.momentum
        np.multiply(grad, -lr, out=step)
        v += step
        if self.nesterov:
            step += self.momentum * v
            params += step
        else:
            params += v


class _ScikitAdam(Adam):
    """Adam as scikit-learn's MLP computes it: epsilon added to ``sqrt(v)`` before the bias
    correction, ``lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`` (glassnet's Adam adds
    it after, as PyTorch and Keras do). Digits stopped at 148 epochs instead of 145 before."""

    epsilon_corrected = False


class _SumOverOutputs:
    """scikit-learn's MLPRegressor reports its loss as the mean over the outputs but
    backpropagates their sum (its output deltas are ``a - y`` for every output, divided by the
    samples alone): the value here is the parent loss's, the gradient the number of outputs
    times the parent's. One output: the parent loss itself."""

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        return super().value_and_grad(out, y, sample_weight, grad, scale * out.shape[-1])


class _HalfSquaredError(_SumOverOutputs, HalfSquaredError):
    @staticmethod
    def _mean(squares, sample_weight, norm):
        # scikit-learn's order: the (weighted) mean over the samples of each output, then
        # their mean. Summed in another order it differs in the last bit, which L-BFGS's
        # line search can amplify into another model. A batch whose samples all weigh 0 has
        # a loss of 0, as the parent's.
        if sample_weight is not None and not sample_weight.sum() > 0:
            return HalfSquaredError._mean(squares, sample_weight, norm)
        return np.average(squares, weights=sample_weight, axis=0).mean()


class _PoissonLoss(_SumOverOutputs, PoissonLoss):
    pass


class _Monitor(Callback):
    """scikit-learn's per-epoch bookkeeping and stopping rule, as ``_fit_stochastic`` and
    ``_update_no_improvement_count`` define them, writing the estimator's fitted attributes."""

    def __init__(self, estimator, validation, n_train, schedule, callback_context=None, data=()):
        self.est, self.validation, self.n_train = estimator, validation, n_train
        self.schedule = schedule
        self.early_stopping = validation is not None
        self.by_loss = estimator.early_stopping_monitor == "loss"
        # scikit-learn's callbacks (set_callbacks): one subtask per epoch.
        self.context, self.data = callback_context, data
        # The validation score needs the weights; the training loss alone does not. An adaptive
        # learning rate changes the optimizer between epochs; scikit-learn's callbacks may score
        # the model at any epoch.
        self.reads_weights = self.early_stopping or isinstance(schedule, _Adaptive) or \
            callback_context is not None
        self.best_params, self.message = None, None

    def _sklearn_callbacks(self, net) -> bool:
        """The epoch as a scikit-learn callback subtask; whether one of them asks to stop."""
        X, y = self.data
        epoch = self.context.subcontext(task_name="epoch")
        epoch.call_on_fit_task_begin(estimator=self.est, X=X, y=y)
        return bool(epoch.call_on_fit_task_end(
            estimator=self.est, X=X, y=y,
            reconstruction_attributes=lambda: {"network_": net.clone()}))

    def on_epoch_end(self, epoch, logs, net, history):
        est = self.est
        if self.context is not None and self._sklearn_callbacks(net):
            self.message = "a scikit-learn callback stopped the fit"
            est.n_iter_ += 1
            est.loss_, est.t_ = logs["loss"], est.t_ + self.n_train
            est.loss_curve_.append(logs["loss"])
            return True
        est.n_iter_ += 1
        est.loss_ = logs["loss"]
        est.t_ += self.n_train
        est.loss_curve_.append(logs["loss"])
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        tol = est.tol
        if self.early_stopping:
            score = -logs["val_loss"] if self.by_loss else est._validation_score(
                net, *self.validation)
            est.validation_scores_.append(float(score))
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = float(score)
                history.best_epoch = epoch
                self.best_params = net.params.copy()
        else:
            if logs["loss"] > est.best_loss_ - tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, logs["loss"])
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            self.message = (f"{what} did not improve more than tol={tol:f} for "
                            f"{est.n_iter_no_change} consecutive epochs.")
            if isinstance(self.schedule, _Adaptive) and self.schedule.value > 1e-6:
                self.schedule.value /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{self.message} Setting learning rate to {self.schedule.value:f}")
                return False
            if est.verbose:
                print(self.message + (" Learning rate too small. Stopping."
                                      if isinstance(self.schedule, _Adaptive) else " Stopping."))
            return True
        return False

    def on_train_end(self, net, history):
        if self.early_stopping and self.best_params is not None:
            net.params = self.best_params


#: the classes a fitted estimator's optimizer and schedule may be, by the names its state keeps
_STATE_CLASSES = {cls.__name__: cls for cls in (
    SGD, _VelocitySGD, _ScikitAdam, AdamW, RMSprop, constant, _InvScaling, _Adaptive)}


def _object_state(obj) -> dict:
    """An optimizer or schedule as plain data: its class's name and its attributes (numbers,
    strings, arrays, and the schedule nested), nothing that skops must be told to trust."""
    attrs = {}
    for key, value in vars(obj).items():
        if key == "_work":                        # scratch space, made again on demand
            continue
        attrs[key] = _object_state(value) if isinstance(value, Schedule) else value
    return {"class": type(obj).__name__, "attrs": attrs}


def _from_object_state(data: dict):
    cls = _STATE_CLASSES.get(data.get("class")) if isinstance(data, dict) else None
    if cls is None:
        raise ValueError(f"unknown optimizer or schedule in the estimator's state: "
                         f"{data.get('class') if isinstance(data, dict) else data!r}")
    obj = cls.__new__(cls)
    obj.__dict__.update({k: _from_object_state(v) if isinstance(v, dict) and "class" in v
                         else v for k, v in data["attrs"].items()})
    if hasattr(obj, "state"):
        obj._work = {}
    return obj


def _network_state(net: Network) -> dict:
    """The network as plain data: its architecture, weights and random streams."""
    rngs = {name: getattr(net, name).bit_generator.state
            for name in ("_init_rng", "shuffle_rng", "_dropout_rng")}
    return {"config": net.get_config(), "params": net.params.copy(), "rngs": rngs}


def _from_network_state(data: dict, loss=None) -> Network:
    from .io import network_from_config

    net = network_from_config(data["config"])
    if loss is not None:
        net.loss = loss
    net.params = np.asarray(data["params"], dtype=net.dtype)
    for name, state in data["rngs"].items():
        getattr(net, name).bit_generator.state = state
    for layer in net.layers:                       # Dropout layers draw from the network's
        if hasattr(layer, "rng"):
            layer.rng = net._dropout_rng
    return net


def _doc_link_parameters(estimator) -> dict:
    from .version import VERSION

    return {"version": VERSION}


class _BaseNeuralNet(CallbackSupportMixin, BaseEstimator):
    # The HTML repr's "?" link: the README's estimator section, as the package index shows it.
    _doc_link_module = "glassnet"
    _doc_link_template = "https://pypi.org/project/glassnet/{version}/#scikit-learn-estimators"
    _doc_link_url_param_generator = _doc_link_parameters

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(_ACTIVATIONS), list, tuple],
        "solver": [StrOptions({"lbfgs", *_STOCHASTIC})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dtype": [StrOptions({"float64", "float32"}), None],
        "early_stopping_monitor": [StrOptions({"score", "loss"})],
        "callbacks": [list, tuple, None],
        "engine": [StrOptions(set(engines.NAMES)), engines.Engine],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, dtype=None, early_stopping_monitor="score", callbacks=None,
                 engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
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
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype
        self.early_stopping_monitor = early_stopping_monitor
        self.callbacks = callbacks
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
        return [int(s) for s in sizes], acts

    def _architecture(self, dtype) -> dict:
        """What the fitted network is made of; warm_start and partial_fit continue it only
        while these parameters are unchanged."""
        sizes, acts = self._hidden()
        return {"hidden_layer_sizes": tuple(sizes), "activation": tuple(acts),
                "dropout": self.dropout, "dtype": np.dtype(dtype).name}

    def _check_same_architecture(self, dtype):
        changed = {k: (v, self._fitted_architecture[k])
                   for k, v in self._architecture(dtype).items()
                   if v != self._fitted_architecture[k]}
        if changed:
            what = "; ".join(f"{k} is {new!r}, the network was fitted with {old!r}"
                             for k, (new, old) in changed.items())
            raise ValueError(f"warm_start and partial_fit continue the fitted network, but {what}."
                             " Set warm_start=False (or make a new estimator) to fit a new one")

    def __getstate__(self):
        """Plain data only (numbers, strings, arrays, dicts): a fitted estimator saved with
        skops needs no type trusted but its own class. Pickle uses the same state."""
        state = dict(super().__getstate__())
        if state.get("network_") is not None:
            state["network_"] = _network_state(state["network_"])
        if state.get("_optimizer") is not None:
            state["_optimizer"] = _object_state(state["_optimizer"])
        if state.get("_fitted_architecture") is not None:
            state["_fitted_architecture"] = {**state["_fitted_architecture"], "dtype": str(
                state["_fitted_architecture"]["dtype"])}
        return state

    def __setstate__(self, state):
        state = dict(state)
        if isinstance(state.get("network_"), dict):
            state["network_"] = _from_network_state(state["network_"], self._state_loss(state))
        if isinstance(state.get("_optimizer"), dict):
            state["_optimizer"] = _from_object_state(state["_optimizer"])
        if isinstance(state.get("_fitted_architecture"), dict):
            state["_fitted_architecture"] = {**state["_fitted_architecture"], "dtype": np.dtype(
                state["_fitted_architecture"]["dtype"])}
        super().__setstate__(state)

    @staticmethod
    def _state_loss(state):
        """The loss object a restored network trains with (the regressor's own forms)."""
        return None

    def _input_dtype(self, X):
        """The network's dtype: ``dtype`` if given, else X's (float32 stays float32, as in
        scikit-learn's MLP)."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)

    def _validate_X(self, X, reset, y="no_validation", **kwargs):
        dtype = [np.float64, np.float32] if self.dtype is None else np.dtype(self.dtype).type
        if isinstance(y, str) and y == "no_validation":
            X = validate_data(self, X, reset=reset, dtype=dtype, accept_sparse=["csr", "csc"])
        else:
            X, y = validate_data(self, X, y, reset=reset, dtype=dtype,
                                 accept_sparse=["csr", "csc"], multi_output=True, **kwargs)
        if hasattr(X, "toarray"):          # the network computes on dense arrays
            X = X.toarray()
        return X if isinstance(y, str) and y == "no_validation" else (X, y)

    def _make_network(self, n_features, n_outputs, head, dtype, loss=None):
        self._fitted_architecture = self._architecture(dtype)
        sizes, acts = self._hidden()
        seed = self.random_state
        if isinstance(seed, Integral):
            seed = int(seed)
        self.n_layers_ = len(sizes) + 2
        self.out_activation_ = "logistic" if head == "sigmoid" else head
        return build_network(sizes, acts, (n_outputs, head), input_dim=n_features,
                             dropout=self.dropout, seed=seed, dtype=dtype, loss=loss)

    def _batch_size(self, n_samples):
        if self.batch_size is None:
            return None
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warn_user("Got `batch_size` less than 1 or larger than sample size. It is going "
                      "to be clipped", UserWarning)
        return min(self.batch_size, n_samples)

    def _make_optimizer(self, n_train):
        lr = self.learning_rate_init
        if self.solver == "sgd":
            if self.learning_rate == "invscaling":
                lr = _InvScaling(lr, self.power_t, self.t_, n_train)
            elif self.learning_rate == "adaptive":
                lr = _Adaptive(lr)
            # Without momentum both forms are plain gradient descent: glassnet's SGD, which the
            # fast engines know.
            sgd = _VelocitySGD if self.momentum > 0 else SGD
            return sgd(lr, momentum=self.momentum,
                       nesterov=self.nesterovs_momentum and self.momentum > 0)
        if self.solver == "adam":
            return _ScikitAdam(lr, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "adamw":
            return AdamW(lr, self.beta_1, self.beta_2, self.epsilon, weight_decay=self.alpha)
        return RMSprop(lr, epsilon=self.epsilon)

    def _weights(self, sample_weight, X, y_for_weights):
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            # scikit-learn's rule elsewhere: class weights multiply the sample weights.
            weights = compute_sample_weight(class_weight, y_for_weights).astype(X.dtype)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        return sample_weight

    # ----------------------------------------------------------------- training
    def _initialize(self):
        """The bookkeeping a fresh fit starts from (kept by warm_start and partial_fit)."""
        self.loss_curve_, self.t_, self._no_improvement_count = [], 0, 0
        self.best_loss_ = None if self.early_stopping else np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _train(self, X, targets, sample_weight, y_labels, incremental):
        """Fit the network by the chosen solver; ``y_labels`` are the labels as given (for the
        validation score and the stratified split)."""
        net = self.network_
        if self.solver == "lbfgs":
            return self._train_lbfgs(X, targets, sample_weight)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        rng = self._random_state
        # With early stopping: the validation split's network targets (for the validation loss)
        # and its labels as given (for the score).
        scored, kwargs = None, {}
        if self.early_stopping:
            # As scikit-learn: only single-output (binary) problems are stratified, on the 0/1
            # targets.
            stratify = targets.astype(bool) if getattr(self, "_stratify", False) \
                and targets.ndim == 2 and targets.shape[1] == 1 else None
            arrays = [X, targets, y_labels] + ([] if sample_weight is None else [sample_weight])
            parts = train_test_split(*arrays, random_state=rng,
                                     test_size=self.validation_fraction, stratify=stratify)
            X, X_val, targets, t_val, _, y_val = parts[:6]
            sample_weight, w_val = (parts[6], parts[7]) if sample_weight is not None else \
                (None, None)
            if len(X_val) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            scored = (X_val, y_val, w_val)
            kwargs["validation_data"] = (X_val, t_val, w_val)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer(len(X))
        context = None
        if getattr(self, "_skl_callbacks", None):
            context = self._init_callback_context(max_subtasks=1 if incremental else
                                                  self.max_iter)
            context.call_on_fit_task_begin(estimator=self, X=X, y=y_labels)
        monitor = _Monitor(self, scored, len(X), self._optimizer.schedule, context,
                           (X, y_labels))
        self.n_iter_ = 0
        epochs = 1 if incremental else self.max_iter
        diverged = None
        try:
            history = fit(net, X, targets, optimizer=self._optimizer, epochs=epochs,
                          batch_size=self._batch_size(len(X)),
                          shuffle=self._shuffler(rng) if self.shuffle else False,
                          sample_weight=sample_weight,
                          callbacks=[monitor, *(self.callbacks or ())],
                          l2=0.0 if self.solver == "adamw" else self.alpha,
                          engine=self.engine, epoch_loss="rows", **kwargs)
        except DivergenceError as exc:
            diverged, history = exc, net.history
        if context is not None:
            context.call_on_fit_task_end(estimator=self, X=X, y=y_labels)
        if "val_loss" in history:
            previous = getattr(self, "validation_loss_curve_", []) if self.warm_start or \
                incremental else []
            self.validation_loss_curve_ = previous + list(history["val_loss"])
            self.best_validation_loss_ = min(self.validation_loss_curve_)
        if isinstance(self._optimizer.schedule, _InvScaling):
            # As scikit-learn's optimizer after its last epoch: the rate for the next one.
            self._optimizer.learning_rate = self._optimizer.schedule(self.n_iter_)
        if diverged is not None:
            if diverged.at_start and not (incremental or self.warm_start):
                # Not even the initial weights give a finite loss: the data is the problem.
                raise ValueError(f"{_NONFINITE} ({diverged})") from None
            if self.early_stopping:
                self.validation_scores_.append(float("nan"))
            warn_user(f"{diverged} Stopped early; the model keeps its last finite weights.",
                      ConvergenceWarning)
        elif not incremental and monitor.message is None and self.n_iter_ == self.max_iter:
            warn_user(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                      "the optimization hasn't converged yet.", ConvergenceWarning)
        return self

    @staticmethod
    def _shuffler(rng):
        """Each epoch's order as scikit-learn draws it: the last order, shuffled again.

        ``sklearn.utils.shuffle(order, random_state=rng)`` shuffles ``arange(n)`` with
        ``rng.shuffle`` and indexes ``order`` with it. A shuffle's swaps depend on its draws
        alone, not on the values moved, so shuffling a copy of ``order`` with the same
        ``rng`` gives the same order from the same draws (tested), without ``shuffle``'s
        input checks (measured on 750 rows: 9 us an epoch against 103, a sixth of the whole
        epoch; a fit on 10^3 x 10 for 200 epochs went from 0.135 to 0.111 s)."""
        order = None

        def next_order(n):
            nonlocal order
            order = np.arange(n) if order is None else order.copy()
            rng.shuffle(order)
            return order

        return next_order

    def _init_as_sklearn(self, net, rng):
        """scikit-learn's initial weights and biases (Glorot et al.'s uniform bound, with
        factor 2 for logistic units), drawn from the same random stream in the same order,
        so the same arguments start from the same network."""
        factor = 2.0 if isinstance(self.activation, str) and \
            self.activation in ("logistic", "sigmoid") else 6.0
        for layer in net.dense_layers:
            fan_in, fan_out = layer.W.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            layer.W[...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            layer.b[...] = rng.uniform(-bound, bound, fan_out)

    def _train_lbfgs(self, X, targets, sample_weight):
        X, targets, sample_weight = self.network_.check_data(X, targets, sample_weight)
        result = minimize_lbfgs(self.network_, X, targets, sample_weight, l2=self.alpha,
                                max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol,
                                verbose=bool(self.verbose))
        if not np.isfinite(self.network_.params).all():
            raise ValueError(_NONFINITE)
        self.n_iter_ = min(result.n_iter, self.max_iter)
        self.loss_ = result.loss
        self.t_ = getattr(self, "t_", 0)
        if not result.converged:
            warn_user(f"lbfgs failed to converge after {result.n_iter} iteration(s) "
                      f"({result.message}). Increase the number of iterations (max_iter, "
                      "max_fun) or scale the data", ConvergenceWarning)
        return self

    def _fit_network(self, X, targets, sample_weight, y_labels, incremental, n_out, head,
                     loss=None, fresh=None):
        """Make or continue the network, then train it."""
        dtype = self._input_dtype(X)
        first = fresh if fresh is not None else \
            not (incremental or self.warm_start) or not hasattr(self, "network_")
        # One random stream per fit, as scikit-learn: initial weights, split, shuffles.
        self._random_state = check_random_state(self.random_state)
        if first:
            self.n_outputs_ = n_out
            self.network_ = self._make_network(X.shape[1], n_out, head, dtype, loss)
            self._init_as_sklearn(self.network_, self._random_state)
            self._initialize()
        else:
            self._check_same_architecture(dtype)
        return self._train(X, targets, sample_weight, y_labels, incremental)

    def _check_X_predict(self, X):
        # A float array of the fitted width and the network's dtype, as a serving user passes
        # one row at a time, needs only its finiteness checked: scikit-learn's validate_data
        # costs about 60 us a call (feature names, dataframe protocols), more than the network.
        # Anything else (lists, frames, sparse, other dtypes, fitted on named features) goes
        # through validate_data, with its messages.
        net = getattr(self, "network_", None)
        if net is not None and not hasattr(self, "feature_names_in_") and \
                is_ready(X, net.dtype, self.n_features_in_):
            return X
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)`` (views into the network)."""
        check_is_fitted(self, "network_")
        return [layer.W for layer in self.network_.dense_layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape ``(n_out,)``."""
        check_is_fitted(self, "network_")
        return [layer.b for layer in self.network_.dense_layers]


class NeuralNetClassifier(ClassifierMixin, _BaseNeuralNet):
    """Multi-layer perceptron classifier on glassnet's from-scratch ``Network``.

    Binary problems get one sigmoid output and binary cross-entropy (the tutorials' network);
    more classes get a softmax output and categorical cross-entropy; a 2-D 0/1 indicator ``y``
    is multi-label (one sigmoid per label). Labels can be any values, strings included.

    Parameters are those of ``sklearn.neural_network.MLPClassifier``, with the same meaning,
    and in addition: ``class_weight`` (``"balanced"`` or ``{label: weight}``, multiplying
    ``sample_weight``), ``dropout`` (after every hidden layer), ``activation`` naming any
    glassnet activation or one per hidden layer, ``solver`` ``"adamw"`` and ``"rmsprop"``,
    ``batch_size=None`` (full-batch gradient descent), ``dtype`` (default: X's),
    ``early_stopping_monitor="loss"`` (stop on the validation loss instead of the score),
    ``callbacks`` (glassnet callbacks, called every epoch) and ``engine``.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_, n_outputs_, n_layers_, out_activation_,
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_,
    validation_loss_curve_ (early stopping), n_iter_, t_, coefs_, intercepts_, network_.
    """

    _parameter_constraints: dict = {**_BaseNeuralNet._parameter_constraints,
                                    "class_weight": [StrOptions({"balanced"}), dict, None]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, dropout=0.0, dtype=None, early_stopping_monitor="score",
                 callbacks=None, engine="auto"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, dtype=dtype, early_stopping_monitor=early_stopping_monitor,
            callbacks=callbacks, engine=engine)
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
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
            # As scikit-learn's LabelBinarizer: strings (pandas' object or Categorical labels
            # too) give a '<U' array, numbers their own dtype.
            self.classes_ = unique_labels(y) if classes is None else np.asarray(classes)
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unseen = self.classes_[index] != y
        if unseen.any():
            raise ValueError(f"y contains labels the classifier was not told about: "
                             f"{np.unique(y[unseen])[:5].tolist()}; known classes are "
                             f"{self.classes_.tolist()}")
        # One sigmoid output for two classes (and for one: it learns to say "the first").
        return index.astype(np.float64)[:, None] if len(self.classes_) <= 2 else index

    def _head(self):
        return output_layer("classification", len(self.classes_), len(self.classes_),
                            multilabel=self._multilabel)

    def _validation_score(self, net, X, y, sample_weight):
        """Accuracy on the validation split, as scikit-learn scores a classifier (NaN when the
        network's outputs are not finite)."""
        p = net.propagate(X)
        if not np.isfinite(p).all():
            return float("nan")
        return accuracy_score(y, self._labels(p), sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X (n_samples, n_features)`` and labels ``y``; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        X, y = self._validate_X(X, reset=first, y=y)
        if not first and self.warm_start and not incremental and not self._multilabel:
            labels = np.unique(column_or_1d(y))
            if not np.array_equal(labels, self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes "
                                 f"as in the previous call to fit. Previously got "
                                 f"{self.classes_}, `y` has {labels}")
        targets = self._encode(y, classes=classes, reset=first)
        self._stratify = not self._multilabel
        sample_weight = self._weights(sample_weight, X, y)
        n_out, head = self._head()
        return self._fit_network(X, targets, sample_weight, y, incremental, n_out, head,
                                 fresh=first)

    @available_if(_BaseNeuralNet._check_solver)
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

    def _labels(self, p):
        if self._multilabel:
            return (p > 0.5).astype(self._label_dtype)
        return self.classes_[np.minimum(class_indices(p), len(self.classes_) - 1)]

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)`` (per label for multi-label)."""
        X = self._check_X_predict(X)
        p = self.network_.propagate(X)
        if p.shape[1] > 1 and not self._multilabel:
            return p
        if len(self.classes_) == 1:
            return np.ones_like(p)
        # A sigmoid of a large logit is exactly 1.0 (or 0.0) in floating point: keep the
        # probabilities strictly inside (0, 1), so that their logs and complements stay finite.
        # (Two ufuncs and a concatenate, not np.clip and np.hstack: the same numbers, without
        # their Python wrappers' microseconds on a one-row call.)
        info = np.finfo(p.dtype)
        np.minimum(np.maximum(p, info.tiny, out=p), 1 - info.epsneg, out=p)
        return p if self._multilabel else np.concatenate((1 - p, p), axis=1)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels, shape ``(n_samples,)`` (``(n_samples, n_labels)`` multi-label)."""
        X = self._check_X_predict(X)
        return self._labels(self.network_.propagate(X))


class NeuralNetRegressor(RegressorMixin, _BaseNeuralNet):
    """Multi-layer perceptron regressor on glassnet's ``Network``; single- and multi-output.

    ``loss="squared_error"`` (identity output; scikit-learn's half squared error, so
    ``loss_curve_`` reads the same) or ``"poisson"`` (exponential output, half the Poisson
    deviance, for counts). Other parameters as ``NeuralNetClassifier``, without
    ``class_weight``.
    """

    _parameter_constraints: dict = {**_BaseNeuralNet._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, dtype=None, early_stopping_monitor="score", callbacks=None,
                 engine="auto"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, dtype=dtype, early_stopping_monitor=early_stopping_monitor,
            callbacks=callbacks, engine=engine)
        self.loss = loss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def _validation_score(self, net, X, y, sample_weight):
        """R^2 on the validation split, as scikit-learn scores a regressor (NaN when the
        predictions are not finite)."""
        p = net.propagate(X)
        if not np.isfinite(p).all():
            return float("nan")
        return r2_score(y, p, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X (n_samples, n_features)`` and ``y (n_samples,)`` or
        ``(n_samples, n_outputs)``; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_BaseNeuralNet._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental):
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        X, y = self._validate_X(X, reset=first, y=y, y_numeric=True)
        y = np.asarray(y, dtype=X.dtype)
        if first:
            self._y_1d = y.ndim == 1
        targets = y.reshape(len(y), -1)
        if not first and targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {targets.shape[1]} outputs but the regressor was fitted "
                             f"with {self.n_outputs_}")
        if self.loss == "poisson" and targets.size and targets.min() < 0:
            raise ValueError("loss='poisson' needs targets >= 0 (counts or rates); got "
                             f"{targets.min()}")
        self._stratify = False
        sample_weight = self._weights(sample_weight, X, None)
        n_out, head = output_layer("regression", n_outputs=targets.shape[1], loss=self.loss)
        loss = _PoissonLoss() if self.loss == "poisson" else _HalfSquaredError()
        return self._fit_network(X, targets, sample_weight, targets, incremental,
                                 n_out, head, loss=loss, fresh=first)

    @staticmethod
    def _state_loss(state):
        return _PoissonLoss() if state.get("loss") == "poisson" else _HalfSquaredError()

    def predict(self, X):
        """Predictions, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        X = self._check_X_predict(X)
        out = self.network_.propagate(X)
        return out[:, 0] if self._y_1d else out


def register_skl2onnx() -> None:
    """Tell skl2onnx how to convert both estimators (``glassnet.export.skl2onnx``), so that
    ``skl2onnx.convert_sklearn`` takes pipelines holding them. Needs skl2onnx."""
    from .export.skl2onnx import register

    register(NeuralNetClassifier, NeuralNetRegressor)


# Already imported skl2onnx: nothing else to call.
if "skl2onnx" in sys.modules:
    register_skl2onnx()
