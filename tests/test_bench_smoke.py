"""The benchmark scripts still run (a few steps each). Nothing here is about time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run_writes_a_report(tmp_path):
    text = _smoke("run.py", tmp_path)
    for row in ("moons 2-5-1", "circles [2,10,5,1]", "784-512-512-10, fp32, batch 32",
                "784-512-512-10, fp32, batch 1024", "import glassnet"):
        assert row in text, row
    assert "SMOKE RUN" in text
    assert "bare NumPy step % of limit" in text


def _bench_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bare_numpy_step_trains_like_glassnet():
    """The benchmark's "bare NumPy step" is a floor only if it does the same work: from the
    same weights, two full-batch SGD steps land on glassnet's weights."""
    import numpy as np

    import glassnet as gn

    bench = _bench_module()
    rng = np.random.default_rng(3)
    X = rng.random((96, 20), dtype=np.float32)
    y = rng.integers(0, 4, 96)
    net = gn.Network([gn.Dense(16, "relu"), gn.Dense(8, "relu"), gn.Dense(4, "softmax")],
                     input_dim=20, seed=0, dtype="float32")
    start = net.params.copy()
    bare = bench.bare_numpy_training(X, y, [20, 16, 8, 4], 96, 0.5, initial=start)
    bare(2)
    net.fit(X, y, optimizer=gn.SGD(0.5), epochs=2)
    moved = np.abs(net.params - start).max()
    assert moved > 1e-2
    np.testing.assert_allclose(bare.params, net.params, rtol=0, atol=1e-5 * moved)


def test_data_parallel_benchmark_smoke_run(tmp_path):
    out = tmp_path / "dp.md"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "data_parallel.py"),
                             "--quick", "--out", str(out)], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert "| small 20-32-1, batch 2048 | 705 |" in text and "QUICK RUN" in text


def test_sklearn_parity_benchmark_smoke_run(tmp_path):
    out = tmp_path / "parity.md"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "sklearn_parity.py"),
                             "--quick", "--out", str(out)], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert "| digits | lbfgs | constant | False |" in text
    assert "| digits | sgd | constant | True |" in text


def test_the_playground_benchmark_smoke_run_writes_its_table(tmp_path):
    text = _smoke("playground.py", tmp_path)
    assert "| 50x50 |" in text and "| 100x100 |" in text


def _smoke(script, tmp_path, *extra):
    out = tmp_path / "report.md"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--smoke", "--out",
                             str(out), *extra], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert "SMOKE RUN" in text and "NumPy BLAS" in text
    return text


def test_the_optimizer_benchmark_covers_every_optimizer_and_batch(tmp_path):
    text = _smoke("optimizers.py", tmp_path)
    for optimizer in ("sgd", "momentum", "adam"):
        for batch in (32, 128, 1024):
            assert f"| {optimizer} | {batch} |" in text
    assert "owned: glassnet / NumPy only / PyTorch" in text


def test_the_inference_benchmark_checks_answers_and_times_both_sizes(tmp_path):
    text = _smoke("inference.py", tmp_path)
    for row in ("## tabular 20-100-2", "## 784-512-512-10", "| glassnet estimator |",
                "| sklearn |", "| NumPy floor |"):
        assert row in text


def test_the_estimator_benchmark_compares_fits_and_the_command(tmp_path):
    text = _smoke("estimators.py", tmp_path, "--mnist", str(tmp_path / "no-mnist"))
    assert "| classification 10^5 x 500 |" in text and "| regression 10^4 x 100 |" in text
    assert 'glassnet `dtype="float32"`' in text and "not the same arguments" in text
    assert "NumPy floor: fit with compiled / NumPy Adam, most speed-up" in text
    assert "speed-up in each repeat: glassnet, NumPy floor" in text
    assert "`glassnet train ...` (whole process)" in text


def test_the_estimators_numpy_floor_trains():
    """The estimator benchmark's NumPy floor is a floor only if it does the training: on
    problems a one-hidden-layer network learns in a few epochs, it reaches a high score (a wrong
    sign or a missing term in its backward pass or update does not)."""
    import importlib.util

    from sklearn.datasets import make_blobs, make_regression

    spec = importlib.util.spec_from_file_location("bench_floor", ROOT / "bench" / "floor.py")
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    X, y = make_blobs(1200, 8, centers=3, cluster_std=2.0, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    for fused in (False, None):       # NumPy's Adam, and the compiled one where Numba is
        result = floor.fit_seconds(X[:1000], y[:1000], X[1000:], y[1000:], "classification",
                                   10, fused=fused)
        assert result["score"] >= 0.95
    X, y = make_regression(1210, 8, noise=1.0, random_state=0)  # 1210: a short last batch
    y = y / y.std()
    result = floor.fit_seconds(X[:1010], y[:1010], X[1010:], y[1010:], "regression", 30)
    assert result["score"] >= 0.95
    assert result["per_epoch"] > 0


def test_the_tables_benchmark_compares_glassnet_with_scikit_learn_on_raw_tables(tmp_path):
    text = _smoke("tables.py", tmp_path)
    assert "| table | task | rows |" in text and "HistGradientBoosting" in text
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| ")][1:]
    assert {r[0].strip("| ") for r in rows} == {"penguins species", "diabetes"}
    for row in rows:
        glassnet, mlp = float(row[4]), float(row[5])
        # Learnt on the raw table (text, missing cells): far above chance, near scikit-learn.
        assert glassnet > (0.9 if row[1] == "classification" else 0.15)
        assert glassnet > mlp - 0.1


def test_the_tables_benchmark_takes_enough_splits_to_resolve_its_target():
    """A table whose paired difference swings between splits (star98's standard deviation is
    about 0.2 of R^2) gets splits until the standard error is half the 0.02 target; a steady
    one keeps the minimum; the cap holds."""
    import importlib.util

    import numpy as np

    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_tables", ROOT / "bench" / "tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    swinging = np.random.default_rng(0).normal(0, 0.2, 10)
    needed = tables.splits_needed(swinging, "regression", 10, 1000)
    sd = swinging.std(ddof=1)
    assert needed == int(np.ceil((sd / 0.01) ** 2)) and needed > 100
    assert sd / np.sqrt(needed) <= 0.01 < sd / np.sqrt(needed - 1)
    assert tables.splits_needed(swinging, "regression", 10, 100) == 100
    steady = np.random.default_rng(0).normal(0, 0.005, 10)
    assert tables.splits_needed(steady, "classification", 10, 400) == 10
    # A classification table's target is 1 point: the same swing needs more splits there.
    assert tables.splits_needed(swinging / 10, "classification", 10, 10_000) == \
        int(np.ceil((swinging.std(ddof=1) / 10 / 0.005) ** 2))
