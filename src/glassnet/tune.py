"""Hyperparameter sweeps with Optuna, on Dask workers: what ``glassnet tune`` runs.

The study lives in a journal file (Optuna's ``JournalFileBackend``: no server; several
processes, and machines sharing the file system, write to it together), so a sweep stopped by
Ctrl-C or a crash resumes where it was by running the same command again. Each trial is one
Dask task that loads the data itself, samples its hyperparameters from the search space,
trains with glassnet and reports the validation loss after every epoch, so Optuna's pruner
stops the unpromising ones early. Every trial saves its model; the best one is copied to
``model.safetensors`` in the run folder with its settings.

A search space is plain data (a TOML file for the command): each key a list of choices, or a
table ``{low, high, log}`` for a number range::

    layers = ["16", "32,16", "64,32"]
    learning_rate = {low = 1e-4, high = 1e-1, log = true}

Needs ``pip install 'glassnet[tune]'`` (Optuna and Dask).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .recipe.options import CONSTRAINTS

__all__ = ["DEFAULT_SPACE", "check_space", "suggest", "journal", "repair_journal",
           "check_resume", "fail_running", "pruner", "load_data", "run_trial", "best_trials"]

#: the search space of ``glassnet tune`` when none is given
DEFAULT_SPACE = {
    "layers": ["8", "16", "16,16", "32,16"],
    "activation": ["relu", "tanh"],
    "optimizer": ["adam", "sgd"],
    "learning_rate": {"low": 1e-4, "high": 0.3, "log": True},
    "l2": {"low": 1e-6, "high": 1e-2, "log": True},
    "dropout": [0.0, 0.1, 0.3],
    "batch_size": [16, 32, 64],
}
_KEYS = set(DEFAULT_SPACE)


def check_space(space: dict) -> dict:
    """The space, checked: known keys, non-empty choices, ranges with ``low < high``."""
    if not isinstance(space, dict) or not space:
        raise ValueError("a search space is a table of hyperparameters")
    unknown = sorted(set(space) - _KEYS)
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown} in the search space; known ones "
                         f"are {sorted(_KEYS)}")
    for key, value in space.items():
        if isinstance(value, list):
            if not value:
                raise ValueError(f"{key}: an empty list of choices")
        elif isinstance(value, dict):
            low, high = value.get("low"), value.get("high")
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high)) \
                    or not low < high or (value.get("log") and low <= 0):
                raise ValueError(f"{key}: a range needs numbers low < high (and low > 0 with "
                                 f"log = true); got {value}")
        else:
            raise ValueError(f"{key}: give a list of choices or a table {{low, high, log}}")
        for choice in (value if isinstance(value, list) else [value["low"], value["high"]]):
            CONSTRAINTS[key].check(key, choice)   # the recipe's rule for that option
    return {**{k: v for k, v in DEFAULT_SPACE.items() if k not in space}, **space}


def suggest(trial, space: dict) -> dict:
    """One trial's hyperparameters from ``space``."""
    params = {}
    for key, value in space.items():
        if isinstance(value, list):
            params[key] = trial.suggest_categorical(key, value)
        else:
            params[key] = trial.suggest_float(key, value["low"], value["high"],
                                              log=bool(value.get("log")))
    return params


def repair_journal(path) -> str | None:
    """Cut a journal back to its last whole record, and say what was cut (None: nothing).

    A crash or a full disk can leave the last record half-written. Optuna reads such a file,
    but the next record it appends joins the broken line, and from then on the study never
    loads again. The broken bytes are kept beside the journal (``.cut``), never thrown away.
    """
    import json
    import os

    path = Path(path)
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        start = max(0, size - (1 << 20))        # the last record is far shorter than 1 MB
        fh.seek(start)
        tail = fh.read()
    if not tail:
        return None
    if tail.endswith(b"\n"):
        last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        try:
            json.loads(last)
            return None
        except ValueError:
            keep = start + len(tail.rstrip(b"\n")) - len(last)
    else:
        cut = tail.rfind(b"\n")
        keep = start + cut + 1 if cut >= 0 else 0
    damaged = path.with_name(path.name + ".cut")
    with open(path, "rb") as fh:
        fh.seek(keep)
        damaged.write_bytes(fh.read())
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    return (f"the journal's last record was cut ({size - keep} bytes, kept in {damaged}); "
            "the study resumes from the record before it")


def check_resume(study, space: dict, data: str, label: str) -> None:
    """Store a new study's search space and data; refuse to resume one with others."""
    wanted = {"space": space, "data": data, "label": label}
    stored = {k: study.user_attrs.get(k) for k in wanted}
    if all(v is None for v in stored.values()):
        for key, value in wanted.items():
            study.set_user_attr(key, value)
        return
    differences = [f"{k}: the study has {stored[k]!r}, this command {wanted[k]!r}"
                   for k in wanted if stored[k] != wanted[k]]
    if differences:
        raise ValueError("cannot resume this study with other settings (its trials would not "
                         "compare): " + "; ".join(differences) + ". Use another --study-name "
                         "or --out")


def fail_running(study) -> int:
    """Mark the trials an interrupted sweep left running as failed; returns how many."""
    import optuna

    running = [t for t in study.get_trials(deepcopy=False)
               if t.state == optuna.trial.TrialState.RUNNING]
    for t in running:
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
    return len(running)


def journal(path):
    """The Optuna storage of a study kept in the journal file ``path``."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return JournalStorage(JournalFileBackend(str(path)))


def pruner():
    """The pruning rule of a sweep, for every process that runs its trials: once two trials are
    complete, stop one whose validation loss after its fourth epoch or any later one is worse
    than the median of theirs after the same epoch (Optuna's ``MedianPruner``)."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3)


def load_data(data: str, label: str, seed: int):
    """The sweep's data set (``datasets.load``); a continuous label is refused: the command
    checks with this before any work, and every trial loads its data with it where it runs."""
    from .datasets import load

    ds = load(data, label=label, seed=seed)
    if ds.task != "classification":
        raise ValueError(f"glassnet tune sweeps classifiers, and the label of {data!r} is "
                         "continuous; glassnet train fits a regressor")
    return ds


def run_trial(storage_path: str, study_name: str, data: str, label: str, epochs: int,
              seed: int, out: str, space: dict) -> int:
    """One trial, run where Dask puts it: returns its number."""
    import optuna

    from .callbacks import Callback
    from .recipe import TrainOptions, build_optimizer
    from .recipe.train import prepare

    # The data first: a trial asked for and never told would stay "running" in the journal.
    ds = load_data(data, label, seed)
    split = _validation_split(ds, seed)
    # The pruner and the sampler are not kept in the journal: each process gives its own.
    study = optuna.load_study(study_name=study_name, storage=journal(storage_path),
                              pruner=pruner())
    trial = study.ask()
    # The sampler draws a trial's values when it suggests them, below. Seeded by the trial's
    # number: one seed for every worker would give trials run side by side the same draws, and
    # none would leave a sweep unrepeatable; this way one run one trial at a time repeats.
    study.sampler = optuna.samplers.TPESampler(seed=seed + trial.number)

    class Report(Callback):
        """Each epoch's validation loss to Optuna, which may prune the trial."""

        reads_weights = False

        def on_epoch_end(self, epoch, logs, net, history):
            value = logs["val_loss"]
            trial.report(value if math.isfinite(value) else 1e300, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

    try:
        p = suggest(trial, space)
        options = TrainOptions.from_mapping({
            **p, "data": data, "label": label, "seed": seed + trial.number, "epochs": epochs,
            "validation_split": 0.0, "early_stopping": 0})
        # Trained on 3/4 of the training split, scored on the other quarter (never the test
        # split: that would choose on the rows that judge the choice).
        prepared = prepare(options, split)
        net = prepared.model.network
        history = net.fit(prepared.X_train, prepared.y_train,
                          optimizer=build_optimizer(options.optimizer, options.learning_rate),
                          epochs=epochs, batch_size=options.batch_for(len(prepared.X_train)),
                          l2=options.l2, validation_data=(prepared.X_test, prepared.y_test),
                          callbacks=[Report()])
        value = float(min(history["val_loss"]))
        prepared.model.save(Path(out) / "trials" / f"trial-{trial.number}.safetensors",
                            {"data": ds.source, "label": ds.label_name, "hyperparameters": p,
                             "val_loss": value, "trial": trial.number})
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return trial.number
    except ValueError:                 # diverged, or an impossible combination
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return trial.number
    except BaseException:              # anything else is the caller's error, told first
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    study.tell(trial, value)
    return trial.number


def _validation_split(ds, seed: int):
    """``ds`` with its training rows split 3:1 (stratified) into training and validation."""
    import dataclasses

    from sklearn.model_selection import train_test_split

    from .recipe import Target

    target = Target("classification").fit(np.concatenate([ds.named(ds.y_train),
                                                          ds.named(ds.y_test)]))
    X_train, X_val, y_train, y_val = train_test_split(
        ds.X_train, ds.y_train, test_size=0.25, random_state=seed,
        stratify=target.encode(ds.named(ds.y_train)))
    return dataclasses.replace(ds, X_train=X_train, y_train=y_train, X_test=X_val, y_test=y_val)


def best_trials(study, k: int = 5):
    """The ``k`` best completed trials, best first."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return sorted(done, key=lambda t: t.value)[:k]
