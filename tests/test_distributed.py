"""glassnet on a Dask cluster (a local one of 2 worker processes): sweeps through joblib,
data-parallel training against single-process training, a lost worker, ``glassnet tune``."""

import copy
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import glassnet as gn

distributed = pytest.importorskip("distributed")
pytest.importorskip("optuna")

from glassnet.distributed import DataParallel, WorkerLostError  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(240, 5))
Y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
W = RNG.random(240) + 0.5


def _cluster():
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=None, silence_logs=40)


@pytest.fixture(scope="module")
def module_client():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture
def client(module_client):
    """The module's cluster with both its workers there: on a loaded machine a worker process
    can be away for a moment (CI once started a fit on a cluster with none), and a fit on one
    worker shards differently from one on two."""
    module_client.wait_for_workers(2, timeout=120)
    return module_client


def test_a_grid_search_through_the_dask_joblib_backend_equals_the_serial_one(client):
    import joblib
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV

    from glassnet.sklearn import NeuralNetClassifier

    grid = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}
    base = NeuralNetClassifier(max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = GridSearchCV(base, grid, cv=3, n_jobs=1).fit(X, Y)
        with joblib.parallel_backend("dask"):
            spread = GridSearchCV(base, grid, cv=3).fit(X, Y)
    np.testing.assert_array_equal(spread.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert spread.best_params_ == serial.best_params_


@pytest.mark.parametrize("optimizer,batch_size,weighted,l2", [
    ("sgd", None, False, 0.0), ("sgd", 32, True, 0.01), ("momentum", 50, False, 0.0),
    ("adam", 32, False, 0.001), ("rmsprop", 64, True, 0.0),
    ("momentum", 32, True, "l1"), ("adamw", None, True, 0.0)])
def test_data_parallel_training_gives_the_single_process_weights(client, optimizer,
                                                                  batch_size, weighted, l2):
    def make():
        return {"sgd": gn.SGD(0.2), "momentum": gn.SGD(0.05, momentum=0.9, nesterov=True),
                "adam": gn.Adam(0.01), "rmsprop": gn.RMSprop(0.005),
                "adamw": gn.AdamW(0.01)}[optimizer]

    layers = [gn.Dense(8, "tanh"), gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")]
    penalty = {"l1": 0.01} if l2 == "l1" else {"l2": l2}
    args = dict(epochs=6, batch_size=batch_size, sample_weight=W if weighted else None, **penalty)
    spread = gn.Network(copy.deepcopy(layers), seed=3)
    h_spread = spread.fit(X, Y, optimizer=make(), engine=DataParallel(client), **args)
    alone = gn.Network(copy.deepcopy(layers), seed=3)
    h_alone = alone.fit(X, Y, optimizer=make(), engine="layered", **args)
    assert h_spread.engine == "data_parallel"
    np.testing.assert_allclose(spread.params, alone.params, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(h_spread["loss"], h_alone["loss"], rtol=1e-9)
    assert h_spread["accuracy"] == h_alone["accuracy"]
    np.testing.assert_allclose(spread.grads, alone.grads, rtol=1e-6, atol=1e-12)


def test_more_shards_than_workers_and_softmax_heads_give_the_same_weights(client):
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    layers = [gn.Dense(6, "relu"), gn.Dense(3, "softmax")]
    spread, alone = (gn.Network(copy.deepcopy(layers), seed=1) for _ in range(2))
    spread.fit(X, y, optimizer=gn.Adam(0.01), epochs=4, batch_size=40,
               engine=DataParallel(client, n_shards=5))
    alone.fit(X, y, optimizer=gn.Adam(0.01), epochs=4, batch_size=40, engine="layered")
    np.testing.assert_allclose(spread.params, alone.params, rtol=1e-6, atol=1e-12)


def test_dropout_is_seeded_per_shard_and_deterministic(client):
    layers = [gn.Dense(8, "relu"), gn.Dropout(0.3), gn.Dense(1, "sigmoid")]
    runs = []
    for _ in range(2):
        net = gn.Network(copy.deepcopy(layers), seed=4)
        net.fit(X, Y, optimizer=gn.Adam(0.01), epochs=3, batch_size=32,
                engine=DataParallel(client))
        runs.append(net.params)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_a_worker_killed_mid_fit_is_an_error_and_the_weights_are_an_epochs_start():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        net = gn.Network([gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")], seed=0)
        starts = []

        def kill_at_epoch_2(epoch, logs):
            starts.append(net.params.copy())
            if epoch == 2:
                victim = sorted(c.scheduler_info()["workers"])[0]
                c.submit(os._exit, 1, workers=[victim], pure=False)   # the process dies
                import time

                time.sleep(1.0)

        with pytest.raises(WorkerLostError, match="worker was lost during epoch 3"):
            net.fit(X, Y, optimizer=gn.Adam(0.01), epochs=8, batch_size=16,
                    engine=DataParallel(c), callbacks=[kill_at_epoch_2])
        # Never silently wrong: the weights epoch 3 started from (the end of epoch 2).
        np.testing.assert_array_equal(net.params, starts[2])


def test_glassnet_tune_finishes_prunes_saves_the_best_model_and_resumes(tmp_path):
    def tune(trials, workers):
        return subprocess.run([sys.executable, "-m", "glassnet", "tune", "--trials", str(trials),
                               "--epochs", "15", "--workers", str(workers), "--out",
                               str(tmp_path / "t")],
                              capture_output=True, text=True, timeout=600)

    def states():
        study = optuna.load_study(study_name="glassnet",
                                  storage=journal(tmp_path / "t" / "journal.log"))
        return study, [t.state for t in study.trials]

    # One trial at a time, each drawing from a sampler seeded by its number: the same trials,
    # reports and pruning every run (trials run side by side prune by which finishes first).
    first = tune(6, workers=1)
    assert first.returncode == 0, first.stderr
    assert "0 trials done, 6 to run" in first.stdout
    import optuna

    from glassnet.tune import journal

    study, first_states = states()
    assert len(first_states) == 6
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned and optuna.trial.TrialState.COMPLETE in first_states
    # The command's rule, where the trials run: none stopped before its fourth epoch, and
    # none before two trials were complete.
    assert all(len(t.intermediate_values) >= 4 for t in pruned)
    assert first_states[:2] == [optuna.trial.TrialState.COMPLETE] * 2
    best = min((t for t in study.trials if t.value is not None), key=lambda t: t.value)
    net = gn.load(tmp_path / "t" / "model.safetensors")
    assert net.metadata["trial"] == best.number
    assert net.metadata["val_loss"] == pytest.approx(best.value)
    assert (tmp_path / "t" / "history.png").exists()
    # Resumed, two trials at a time on two workers.
    again = tune(10, workers=2)
    assert again.returncode == 0, again.stderr
    assert "6 trials done, 4 to run" in again.stdout
    study, all_states = states()
    assert len(all_states) == 10 and all_states[:6] == first_states
    assert all(s.is_finished() for s in all_states)


@pytest.mark.parametrize("data,message", [
    ("nope.csv", "neither a built-in data set"),
    ("continuous.csv", "glassnet tune sweeps classifiers, and the label of 'continuous.csv' "
                       "is continuous; glassnet train fits a regressor")])
def test_glassnet_tune_refuses_bad_data_before_any_work(tmp_path, data, message):
    rows = np.column_stack([RNG.normal(size=(40, 2)), RNG.normal(size=40)])
    np.savetxt(tmp_path / "continuous.csv", rows, delimiter=",", header="a,b,y", comments="")
    done = subprocess.run([sys.executable, "-m", "glassnet", "tune", "--data", data, "--out",
                           "t"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()                  # one line, no traceback
    assert line.startswith("error: ") and message in line
    assert "study" not in done.stdout and not (tmp_path / "t").exists()   # no cluster, no study


def test_glassnet_tune_on_a_scheduler_started_elsewhere_gets_absolute_paths(tmp_path, client):
    # The cluster's workers run in the test's folder; the command, in another, names its data
    # and run folder relative to its own.
    X, y = RNG.normal(size=(120, 3)), np.repeat([0, 1], 60)
    np.savetxt(tmp_path / "mine.csv", np.column_stack([X, y]), delimiter=",",
               header="a,b,c,label", comments="", fmt="%.6g")
    assert os.getcwd() != str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "glassnet", "tune", "--data", "mine.csv",
                           "--label", "label", "--trials", "2", "--epochs", "4", "--out", "t",
                           "--scheduler", client.scheduler.address],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 trials: " in done.stdout and "0 failed" in done.stdout
    assert (tmp_path / "t" / "model.safetensors").exists()
    assert len(list((tmp_path / "t" / "trials").iterdir())) >= 1


def test_a_trial_that_raises_is_told_failed_not_left_running(tmp_path, monkeypatch):
    import optuna

    from glassnet import io, tune

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io, "save", disk_full)
    (tmp_path / "trials").mkdir()
    storage = tmp_path / "journal.log"
    optuna.create_study(study_name="s", storage=tune.journal(storage))
    space = {**tune.DEFAULT_SPACE, "optimizer": ["adam"], "learning_rate": [0.01]}
    with pytest.raises(OSError, match="No space left"):
        tune.run_trial(str(storage), "s", "moons", "-1", 1, 0, str(tmp_path), space)
    (trial,) = optuna.load_study(study_name="s", storage=tune.journal(storage)).trials
    assert trial.state == optuna.trial.TrialState.FAIL


def test_a_trial_draws_its_hyperparameters_from_the_seed_and_its_number(tmp_path):
    import optuna

    from glassnet import tune

    def sweep(folder, seed, n=2):
        (folder / "trials").mkdir(parents=True)
        storage = folder / "journal.log"
        optuna.create_study(study_name="s", storage=tune.journal(storage))
        for _ in range(n):
            tune.run_trial(str(storage), "s", "moons", "-1", 1, seed, str(folder),
                           tune.DEFAULT_SPACE)
        return [t.params for t in optuna.load_study(study_name="s",
                                                    storage=tune.journal(storage)).trials]

    first, repeat, other = (sweep(tmp_path / name, seed)
                            for name, seed in (("a", 0), ("b", 0), ("c", 1)))
    assert first == repeat                           # the same seed: the same sweep
    assert first[0] != first[1]                      # trials do not repeat each other's draws
    assert first != other


def test_a_dask_array_trains_where_it_lies_and_gives_the_single_process_weights(client):
    import dask.array as da

    layers = [gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")]
    spread, alone = (gn.Network(copy.deepcopy(layers), seed=1) for _ in range(2))
    X_dask, y_dask = da.from_array(X, chunks=(70, 5)), da.from_array(Y, chunks=70)
    spread.fit(X_dask, y_dask, optimizer=gn.Adam(0.01), epochs=4, batch_size=32,
               engine=DataParallel(client))
    alone.fit(X, Y, optimizer=gn.Adam(0.01), epochs=4, batch_size=32, engine="layered")
    np.testing.assert_allclose(spread.params, alone.params, rtol=1e-6, atol=1e-12)


def test_bad_values_in_a_dask_partition_are_named_like_local_ones(client):
    import dask.array as da

    bad = X.copy()
    bad[150, 2] = np.nan
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], seed=0)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(da.from_array(bad, chunks=(70, 5)), da.from_array(Y, chunks=70),
                engine=DataParallel(client))
    with pytest.raises(ValueError, match="validation_split needs the training data"):
        net.fit(da.from_array(X, chunks=(70, 5)), da.from_array(Y, chunks=70),
                engine=DataParallel(client), validation_split=0.2)


def test_consecutive_fits_on_the_same_data_do_not_share_cluster_data(client):
    """Scattered data is named by its content's hash unless asked otherwise: a fit releasing
    its shards must not take away those of the next fit on the same data (a race CI caught)."""
    layers = [gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")]
    results = []
    for _ in range(4):
        net = gn.Network(copy.deepcopy(layers), seed=2)
        net.fit(X, Y, optimizer=gn.SGD(0.1), epochs=2, batch_size=60,
                engine=DataParallel(client))
        results.append(net.params)
    for params in results[1:]:
        np.testing.assert_array_equal(params, results[0])


def test_a_cluster_without_workers_is_waited_for_then_refused(monkeypatch):
    import glassnet.distributed as dist

    monkeypatch.setattr(dist, "WAIT_FOR_WORKERS_S", 1)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        net = gn.Network([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], input_dim=5, seed=0)
        start = net.params.copy()
        with pytest.raises(WorkerLostError, match=r"no workers \(waited 1 s\); start some"):
            net.fit(X, Y, optimizer=gn.SGD(0.1), epochs=1, batch_size=60,
                    engine=DataParallel(c))
        np.testing.assert_array_equal(net.params, start)           # nothing was trained


def test_data_parallel_arguments_are_checked_with_a_clear_message(client):
    from glassnet.distributed import DataParallel

    with pytest.raises(TypeError, match="not an address: pass Client"):
        DataParallel("tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="n_shards must be a positive integer"):
        DataParallel(client, n_shards=-3)
    with pytest.raises(ValueError, match="n_shards must be a positive integer"):
        DataParallel(client, n_shards=2.5)
    with pytest.raises(TypeError, match="takes a distributed.Client; got int"):
        DataParallel(5)


def test_a_closed_client_is_refused_before_any_work():
    from distributed import Client, LocalCluster

    from glassnet.distributed import DataParallel

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        closed = Client(cluster)
        closed.close()
        with pytest.raises(ValueError, match="the Dask client is closed"):
            DataParallel(closed)


def test_ctrl_c_in_glassnet_tune_marks_the_running_trials_failed_without_tracebacks(tmp_path):
    import os
    import signal
    import time

    import optuna

    from glassnet.tune import journal

    process = subprocess.Popen([sys.executable, "-m", "glassnet", "tune", "--trials", "4",
                                "--epochs", "100000", "--workers", "2", "--out",
                                str(tmp_path / "t")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)

    def states():
        try:
            study = optuna.load_study(study_name="glassnet",
                                      storage=journal(tmp_path / "t" / "journal.log"))
        except (KeyError, ValueError, OSError):
            return []
        return [t.state.name for t in study.trials]

    for _ in range(600):                        # until both workers run a trial (60 s at most)
        if states().count("RUNNING") == 2:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)      # Ctrl-C reaches the whole process group
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "2 running trials marked failed" in stdout
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert states() == ["FAIL", "FAIL"]
