"""Side-by-side benchmarks: glassnet, the seed tutorials' own NumPy loops, scikit-learn's MLP,
PyTorch (CPU) and JAX (jit, optax) where installed, on the same data, architecture, steps and
dtype. glassnet runs as ``engine="auto"`` gives it and, on the full-batch toys, with
``engine="compiled"`` (the ``fast`` extra: the whole span of steps compiled by Numba, as JAX
compiles its ``lax.fori_loop``).

Every measurement runs in its own subprocess (clean peak memory, no thread pools shared
between libraries), frameworks alternate in a rotating order, each after a warm-up, and the
table reports the median of the repeats. For the 784-512-512-10 workload it also reports the
"matrix-product limit": the time of the step's own matrix products (forward, dW and dA of every
layer at that batch size), each timed alone with NumPy in the same run.

    python bench/run.py                    # full run, writes bench/results.md
    python bench/run.py --smoke            # seconds: checks the scripts still work
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"

# ----------------------------------------------------------------------------- workloads
MLP = [784, 512, 512, 10]


def workloads(smoke: bool) -> list[dict]:
    s = 10 if smoke else 1
    cats = DATA / "catvnoncat" / "train_catvnoncat.h5"
    items = [
        {"name": "moons 2-5-1, 240 samples, full-batch GD", "key": "moons", "sizes": [2, 5, 1],
         "n": 240, "lr": 0.003, "steps": 3000 // s, "unit": "us/step",
         "frameworks": ["seeds", "glassnet", "glassnet-compiled", "sklearn", "torch", "jax"]},
        {"name": "circles [2,10,5,1], 1000 samples, full batch", "key": "circles",
         "sizes": [2, 10, 5, 1], "n": 1000, "lr": 0.01, "steps": 2000 // s, "unit": "us/step",
         "frameworks": ["seeds", "glassnet", "glassnet-compiled", "sklearn", "torch", "jax"]},
    ]
    if cats.exists():
        items.append({"name": "cats [12288,20,7,5,1], 209 samples, full batch, fp64",
                      "key": "cats", "sizes": [12288, 20, 7, 5, 1], "n": 209, "lr": 0.0075,
                      "steps": 25 if smoke else 2500, "unit": "s/run",
                      "frameworks": ["seeds", "glassnet"]})
    # The smoke run checks the code: batch 128 runs what 32 and 1024 run.
    for bs in (32, 1024) if smoke else (32, 128, 1024):
        items.append({"name": f"784-512-512-10, fp32, batch {bs}", "key": f"mlp{bs}",
                      "sizes": MLP, "n": 2048 if smoke else 16384, "batch": bs, "lr": 0.01,
                      "unit": "samples/s", "smoke": smoke,
                      "frameworks": ["limit", "glassnet", "sklearn", "torch", "jax"]})
    return items


# ----------------------------------------------------------------------------- workers
def _toy_data(key, n):
    from sklearn.datasets import make_circles, make_moons

    if key == "moons":
        return make_moons(n, noise=0.2, random_state=0)
    return make_circles(n, noise=0.05, random_state=4)


def _cats():
    from glassnet.datasets import load_catvnoncat

    d = load_catvnoncat(DATA / "catvnoncat")
    return d.X_train, d.y_train


def _mlp_data(n):
    """Standard-normal features (as users feed them: standardised) and random labels, as in
    bench/optimizers.py. Uniform [0, 1) inputs, all positive, left 186k of the 670k gradients
    exactly zero after two epochs (ReLUs that never fire): a network that no longer trains."""
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def run_worker(framework, w, steps_override=None):
    import numpy as np

    key = w["key"]
    if key in ("moons", "circles"):
        X, y = _toy_data(key, w["n"])
    elif key == "cats":
        X, y = _cats()
    else:
        X, y = _mlp_data(w["n"])
    sizes, lr = w["sizes"], w["lr"]
    full_batch = "batch" not in w
    steps = steps_override or w.get("steps", 1)
    dtype = "float32" if key.startswith("mlp") else "float64"

    if framework == "seeds":
        import seeds

        loop = {"moons": lambda k: seeds.moons_loop(X, y, k, lr),
                "circles": lambda k: seeds.circles_loop(X, y, k, lr),
                "cats": lambda k: seeds.cats_loop(X, y, sizes, k, lr)}
        work = loop[key]
    elif framework.startswith("glassnet"):
        import glassnet as gn

        acts = ["relu"] * (len(sizes) - 2)
        head = "sigmoid" if sizes[-1] == 1 else "softmax"
        net = gn.Network([gn.Dense(n, a) for n, a in zip(sizes[1:-1], acts)]
                         + [gn.Dense(sizes[-1], head)], input_dim=sizes[0], seed=0, dtype=dtype)
        opt = gn.SGD(lr)
        engine = "compiled" if framework == "glassnet-compiled" else "auto"
        if full_batch:
            work = lambda k: net.fit(X, y, optimizer=opt, epochs=k, engine=engine)  # noqa: E731
        else:
            work = lambda k: net.fit(X, y, optimizer=opt, epochs=k,  # noqa: E731
                                     batch_size=w["batch"])
    elif framework == "sklearn":
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        warnings.simplefilter("ignore", ConvergenceWarning)
        Xc = X.astype(np.float32) if dtype == "float32" else X

        def work(k):
            MLPClassifier(tuple(sizes[1:-1]), solver="sgd", momentum=0.0, alpha=0.0,
                          learning_rate_init=lr, batch_size=len(X) if full_batch else w["batch"],
                          max_iter=k, tol=0.0, n_iter_no_change=k + 1,
                          shuffle=not full_batch, random_state=0).fit(Xc, y)
    elif framework == "torch":
        import torch

        torch.manual_seed(0)
        tdtype = torch.float32
        layers = []
        for i in range(1, len(sizes)):
            layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
            if i < len(sizes) - 1:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers).to(tdtype)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        if sizes[-1] == 1:
            yt = torch.from_numpy(y.astype(np.float32)).reshape(-1, 1)
            loss_fn = torch.nn.BCEWithLogitsLoss()
        else:
            yt = torch.from_numpy(y.astype(np.int64))
            loss_fn = torch.nn.CrossEntropyLoss()

        def step(xb, yb):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

        def work(k):
            for _ in range(k):
                if full_batch:
                    step(Xt, yt)
                else:
                    order = torch.randperm(len(Xt))
                    for s in range(0, len(Xt), w["batch"]):
                        idx = order[s:s + w["batch"]]
                        step(Xt[idx], yt[idx])
    elif framework == "jax":
        work = _jax_work(X, y, sizes, lr, dtype, None if full_batch else w["batch"])
    elif framework == "limit":
        return {"seconds": matmul_limit_seconds(w), "maxrss_mb": _maxrss()}
    else:
        raise ValueError(framework)

    warm = 1 if key.startswith("mlp") else max(1, steps // 10)
    if key == "cats":
        warm = 2
    work(warm)
    t0 = time.perf_counter()
    work(steps)
    result = {"seconds": time.perf_counter() - t0, "steps": steps, "maxrss_mb": _maxrss()}
    if framework == "glassnet" and not full_batch:
        # This machine's speed drifts over minutes: the fraction of the limit is taken from
        # the limit timed in the same process, right after, and so is the bare NumPy step.
        result["limit_seconds"] = matmul_limit_seconds(w)
        bare = bare_numpy_training(X, y, sizes, w["batch"], lr)
        bare(warm)
        t0 = time.perf_counter()
        bare(steps)
        result["bare_seconds"] = time.perf_counter() - t0
    return result


def _jax_work(X, y, sizes, lr, dtype, batch):
    """JAX's training of the same network: full batch, the whole loop compiled
    (``lax.fori_loop``, as a JAX user writes it for speed); mini-batches, a jitted step per
    batch. He-normal weights, zero biases; float64 where glassnet runs float64."""
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    import optax

    key = jax.random.PRNGKey(0)
    params = []
    for a, b in zip(sizes, sizes[1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.normal(sub, (a, b), dtype) * np.sqrt(2 / a),
                       jnp.zeros(b, dtype)))
    binary = sizes[-1] == 1

    def loss(params, xb, yb):
        a = xb
        for W, b in params[:-1]:
            a = jax.nn.relu(a @ W + b)
        z = a @ params[-1][0] + params[-1][1]
        if binary:
            return jnp.mean(jax.nn.softplus(z[:, 0]) - yb * z[:, 0])
        return optax.softmax_cross_entropy_with_integer_labels(z, yb).mean()

    Xj = jnp.asarray(X, dtype)
    yj = jnp.asarray(y, dtype if binary else jnp.int32)
    state = {"params": params}
    if batch is None:
        @jax.jit
        def loop(params, k):
            def body(_, p):
                g = jax.grad(loss)(p, Xj, yj)
                return jax.tree_util.tree_map(lambda x, gx: x - lr * gx, p, g)
            return jax.lax.fori_loop(0, k, body, params)

        def work(k):
            state["params"] = jax.block_until_ready(loop(state["params"], k))
        return work

    tx = optax.sgd(lr)
    state["opt"] = tx.init(params)

    @jax.jit
    def step(params, opt_state, xb, yb):
        updates, opt_state = tx.update(jax.grad(loss)(params, xb, yb), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    rng = np.random.default_rng(0)

    def work(k):
        params, opt_state = state["params"], state["opt"]
        for _ in range(k):
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch):
                idx = order[start:start + batch]
                params, opt_state = step(params, opt_state, Xj[idx], yj[idx])
        state["params"], state["opt"] = jax.block_until_ready((params, opt_state))
    return work


def step_products(sizes, bs, matmul, make, smoke=False) -> float:
    """Seconds of one mini-batch step's matrix products through layer ``sizes`` at batch
    ``bs`` (forward, dW and dA of every layer; no dA below the first), each product timed
    alone with ``matmul`` on arrays from ``make(shape)``: NumPy's for glassnet, any other
    library's for its own. ``smoke``: one call each, to check the code."""
    total = 0.0
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        A, W, dZ = make((bs, a)), make((a, b)), make((bs, b))
        calls = [lambda A=A, W=W: matmul(A, W), lambda At=A.T, dZ=dZ: matmul(At, dZ)]
        if i:
            calls.append(lambda dZ=dZ, Wt=W.T: matmul(dZ, Wt))
        for call in calls:
            for _ in range(1 if smoke else 10):
                call()
            reps = 1 if smoke else max(20, 2000 // bs)
            t0 = time.perf_counter()
            for _ in range(reps):
                call()
            total += (time.perf_counter() - t0) / reps
    return total


def matmul_limit_seconds(w):
    """Seconds per epoch of the step's own matrix products (forward, dW, dA of every layer at
    this batch size), each product timed alone with NumPy."""
    import numpy as np

    rng = np.random.default_rng(0)
    bs = w["batch"]
    return step_products(w["sizes"], bs, np.matmul,
                         lambda shape: rng.random(shape, dtype=np.float32),
                         smoke=w.get("smoke", False)) * (w["n"] / bs)


def emit(lines, out) -> None:
    """Print a report's ``lines`` and, given a path ``out``, write them there (atomically)."""
    from glassnet.io import atomic_write_bytes

    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        atomic_write_bytes(out, text.encode())


def bare_numpy_training(X, y, sizes, bs, lr, initial=None):
    """The fewest NumPy calls a mini-batch SGD step of this relu / softmax network can make,
    with no framework around them: what NumPy itself allows beyond the products.

    Each step gathers its shuffled batch, then per layer makes one product, one bias add and
    one relu, one softmax cross-entropy gradient with the learning rate folded in, and per
    layer one product for dW, one for dA, one matrix-vector product for db and one mask
    multiply, and updates every parameter in one pass. It uses the same NumPy fast paths as
    glassnet (a broadcast zero row for relu, BLAS products for row and column sums) and skips
    what a bare step can: the loss value, the accuracy, checks and divergence handling. Only
    whole batches are trained (the benchmark's sample counts are multiples of its batches).
    Returns ``train(epochs)``, with the flat parameters (glassnet's layout: every W, then every
    b) as ``train.params``; ``initial`` gives their starting values (default: He normal, zero
    biases).
    """
    import numpy as np

    rng = np.random.default_rng(0)
    pairs = list(zip(sizes, sizes[1:]))
    n_weights = sum(a * b for a, b in pairs)
    params = np.zeros(n_weights + sum(sizes[1:]), dtype=np.float32)
    if initial is not None:
        params[...] = initial
    grads = np.zeros_like(params)
    Ws, bs_, dWs, dbs = [], [], [], []
    w_at, b_at = 0, n_weights
    for a, b in pairs:
        Ws.append(params[w_at:w_at + a * b].reshape(a, b))
        dWs.append(grads[w_at:w_at + a * b].reshape(a, b))
        bs_.append(params[b_at:b_at + b])
        dbs.append(grads[b_at:b_at + b])
        if initial is None:
            Ws[-1][...] = rng.standard_normal((a, b)) * np.sqrt(2.0 / a)
        w_at, b_at = w_at + a * b, b_at + b
    Zs = [np.empty((bs, b), dtype=np.float32) for _, b in pairs]
    dAs = [np.empty((bs, a), dtype=np.float32) for a, _ in pairs]
    Xb = np.empty((bs, sizes[0]), dtype=np.float32)
    yb = np.empty(bs, dtype=np.intp)
    zeros = [np.zeros(b, dtype=np.float32) for _, b in pairs]
    ones_batch = np.ones(bs, dtype=np.float32)
    ones_out = np.ones(sizes[-1], dtype=np.float32)
    rows = np.arange(bs)
    last = len(pairs) - 1

    def step():
        A = Xb
        for i in range(len(pairs)):
            Z = np.matmul(A, Ws[i], out=Zs[i])
            Z += bs_[i]
            if i < last:
                np.maximum(Z, zeros[i], out=Z)
            A = Z
        # softmax cross-entropy: dL/dZ = lr / bs * (softmax(Z) - onehot(y))
        Z = Zs[last]
        Z -= np.maximum.reduce(np.ascontiguousarray(Z.T), axis=0)[:, None]
        np.exp(Z, out=Z)
        Z *= (lr / bs / (Z @ ones_out))[:, None]
        Z[rows, yb] -= lr / bs
        dZ = Z
        for i in range(last, -1, -1):
            A_prev = Zs[i - 1] if i else Xb
            np.matmul(A_prev.T, dZ, out=dWs[i])
            np.matmul(ones_batch, dZ, out=dbs[i])
            if i:
                dA = np.matmul(dZ, Ws[i].T, out=dAs[i])
                dZ = np.multiply(dA, A_prev > 0, out=dA)
        np.subtract(params, grads, out=params)

    def train(epochs):
        for _ in range(epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X) - bs + 1, bs):
                idx = order[start:start + bs]
                np.take(X, idx, axis=0, out=Xb, mode="clip")
                np.take(y, idx, out=yb, mode="clip")
                step()

    train.params = params
    return train


def _maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- driver
def available(framework):
    """Whether a peer's package is installed (torch; jax with optax); glassnet always is."""
    needs = {"torch": ("torch",), "jax": ("jax", "optax"),
             "glassnet-compiled": ("numba",)}.get(framework, ())
    try:
        import importlib.util

        return all(importlib.util.find_spec(name) is not None for name in needs)
    except Exception:  # pragma: no cover
        return False


def in_process(script, payload, timeout=3600):
    """``script --worker JSON(payload)`` in a new Python process with glassnet's sources on
    its path; the JSON its last line prints. The benchmarks' way of giving every measurement
    a process of its own."""
    cmd = [sys.executable, str(script), "--worker", json.dumps(payload)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{Path(script).name} {payload} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def subprocess_run(framework, w, smoke):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", framework,
           "--workload", json.dumps(w)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{framework} on {w['key']} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def flops_per_sample(sizes):
    # forward (A @ W), dW (A.T @ dZ) and dA (dZ @ W.T, not for the first layer)
    pairs = list(zip(sizes, sizes[1:]))
    return 2 * sum(a * b * (3 if i else 2) for i, (a, b) in enumerate(pairs))


def smoke_runs(items) -> dict:
    """A smoke run checks the code, not the speed: every workload of a framework in one
    process (its start-up, importing PyTorch or scikit-learn, is most of a smoke run's time)."""
    found = {}
    for f in dict.fromkeys(f for w in items for f in w["frameworks"] if available(f)):
        mine = [w for w in items if f in w["frameworks"]]
        for w, result in zip(mine, subprocess_run(f, mine, True)):
            found[f, w["key"]] = result
    return found


def measure(w, repeats, smoke, done=None):
    """Each framework's runs of ``w``, each in a process of its own, or taken from ``done``
    (``smoke_runs``)."""
    frameworks = [f for f in w["frameworks"] if available(f)]
    results = {f: [] for f in frameworks}
    for r in range(repeats):
        order = frameworks[r % len(frameworks):] + frameworks[:r % len(frameworks)]
        for f in order:
            results[f].append(done[f, w["key"]] if done else subprocess_run(f, w, smoke))
    summary = {}
    for f, runs in results.items():
        secs = statistics.median(x["seconds"] for x in runs)
        if w["unit"] == "us/step":
            value = secs / runs[0]["steps"] * 1e6
        elif w["unit"] == "s/run":
            value = secs * w["steps"] / runs[0]["steps"]
        else:
            value = w["n"] / secs
        summary[f] = {"value": value, "maxrss_mb": max(x["maxrss_mb"] for x in runs),
                      "all": [x["seconds"] for x in runs]}
        for key, time_key in (("of_limit", "seconds"), ("bare_of_limit", "bare_seconds")):
            if time_key in runs[0] and "limit_seconds" in runs[0]:
                fractions = [x["limit_seconds"] / x[time_key] for x in runs]
                summary[f][key] = statistics.median(fractions)
                summary[f][key + "_range"] = (min(fractions), max(fractions))
    return summary


def import_times(repeats=5):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = {}
    for label, cmd in (("python -c 'import glassnet'", [sys.executable, "-c", "import glassnet"]),
                       ("glassnet --help", [sys.executable, "-m", "glassnet", "--help"])):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=env, check=True)
            times.append(time.perf_counter() - t0)
        out[label] = statistics.median(times)
    return out


def versions():
    import numpy
    import sklearn

    import glassnet

    v = {"python": platform.python_version(), "numpy": numpy.__version__,
         "scikit-learn": sklearn.__version__, "glassnet": glassnet.__version__}
    if available("torch"):
        import torch

        v["torch"] = torch.__version__
    if available("jax"):
        import jax
        import optax

        v["jax"], v["optax"] = jax.__version__, optax.__version__
    import importlib.util

    if importlib.util.find_spec("numba") is not None:   # glassnet's fused optimizer updates
        import numba

        v["numba"] = numba.__version__
    return v


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; {blas()}"


def blas():
    """NumPy's BLAS and the kernels it chose: OPENBLAS_CORETYPE (set on the machines this
    project is measured on) changes the matrix products' speed 1.6-1.9x here."""
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    # NumPy's own first: once SciPy is imported its bundled OpenBLAS is listed too, and the
    # order is not NumPy's (a report once named SciPy's 0.3.30 instead of NumPy's 0.3.31).
    info.sort(key=lambda i: "numpy" not in Path(i.get("filepath", "")).parent.name)
    text = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} "
                     f"kernels, {i.get('num_threads')} threads)" for i in info[:1]) or "BLAS ?"
    settings = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                        if k.startswith("OPENBLAS_"))
    return f"NumPy BLAS: {text}" + (f", environment {settings}" if settings else "")


def fmt(value, unit):
    if unit == "samples/s":
        return f"{value / 1000:.1f}k"
    if unit == "s/run":
        return f"{value:.2f} s"
    return f"{value:.1f} us" if value < 100 else f"{value:.0f} us"


def _fraction(summary, key):
    """A median fraction of the limit, with the range over the runs where it was recorded."""
    if key not in summary:
        return "-"
    text = f"{summary[key]:.0%}"
    if key + "_range" in summary:
        low, high = summary[key + "_range"]
        text += f" ({low:.0%}-{high:.0%})"
    return text


def report(rows, imports, repeats, smoke, date) -> str:
    lines = [
        "# glassnet benchmarks",
        "",
        f"- date: {date}",
        f"- machine: {machine()}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- method: each cell is the median of {repeats} runs, each in its own process after a "
        "warm-up, frameworks in rotating order; \"% of limit\" is the median over glassnet's "
        "runs of (the matrix products alone, timed in the same process right after) / "
        "(glassnet's time), its range over the runs in brackets; \"bare NumPy step\" is the "
        "same for a hand-written step of the fewest NumPy calls (no framework, no loss value "
        "or accuracy), timed in that process too; peak memory is the process's maximum RSS "
        "(interpreter and imports included). This machine's speed drifts by up to 2x over "
        "minutes: compare ratios within a run, not across runs."
        + (" SMOKE RUN: too short to mean anything." if smoke else ""),
        "",
        "| workload | unit | seeds' loop | glassnet | glassnet compiled | scikit-learn | "
        "PyTorch | JAX (jit) | glassnet speed-up vs best other (>1: faster) | "
        "compiled vs JAX | matmul limit | glassnet % of limit | "
        "bare NumPy step % of limit | effective GFLOP/s | "
        "peak MB (glassnet / torch) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w, s in rows:
        unit = w["unit"]
        cell = {f: fmt(s[f]["value"], unit) if f in s else "-"
                for f in ("seeds", "glassnet", "glassnet-compiled", "sklearn", "torch", "jax",
                          "limit")}
        g = s["glassnet"]["value"]
        others = [s[f]["value"] for f in ("seeds", "sklearn", "torch", "jax") if f in s]
        compiled = "-"
        if "glassnet-compiled" in s and "jax" in s:
            compiled = f"{s['jax']['value'] / s['glassnet-compiled']['value']:.2f}x"
        if unit == "samples/s":
            best = max(others) if others else None
            ratio = f"{g / best:.2f}x" if best else "-"
            pct, bare = (_fraction(s["glassnet"], key) for key in ("of_limit", "bare_of_limit"))
            gflops = f"{g * flops_per_sample(w['sizes']) / 1e9:.1f}"
        else:
            best = min(others) if others else None
            ratio = f"{best / g:.2f}x" if best else "-"
            pct = bare = "-"
            per_step = g / 1e6 if unit == "us/step" else g / w["steps"]
            gflops = f"{w['n'] * flops_per_sample(w['sizes']) / per_step / 1e9:.2f}"
        if "seeds" in s:
            ratio += f" ({s['seeds']['value'] / g:.1f}x vs the seeds' loop)"
        mem = f"{s['glassnet']['maxrss_mb']:.0f} / " + (
            f"{s['torch']['maxrss_mb']:.0f}" if "torch" in s else "-")
        lines.append(f"| {w['name']} | {unit} | {cell['seeds']} | {cell['glassnet']} | "
                     f"{cell['glassnet-compiled']} | {cell['sklearn']} | {cell['torch']} | "
                     f"{cell['jax']} | {ratio} | {compiled} | {cell['limit']} | {pct} | "
                     f"{bare} | {gflops} | {mem} |")
    lines += ["", "| start-up | median seconds |", "|---|---|"]
    lines += [f"| `{k}` | {v:.3f} |" for k, v in imports.items()]
    lines += ["", "us/step: lower is better; samples/s: higher is better. \"glassnet "
              "compiled\": `engine=\"compiled\"` (the `fast` extra), which `engine=\"auto\"` "
              "takes only for fits long enough to pay Numba's start (about a second); JAX's "
              "compile is not timed either (both after a warm-up). \"compiled vs JAX\": JAX's "
              "time over glassnet's. \"matmul limit\": the "
              "step's matrix products alone, each timed with NumPy in the same run. "
              "\"bare NumPy step\": `bare_numpy_training` in bench/run.py, what NumPy itself "
              "allows beyond the products (gather, bias, relu, softmax gradient, mask, "
              "one-pass update). "
              "\"effective GFLOP/s\": the FLOPs of the network's forward and backward passes "
              "as written, divided by glassnet's time. For cats glassnet trains in the row "
              "space of X (exact, see glassnet/engines/rowspace.py) and does about 60x fewer "
              "FLOPs, so its effective figure exceeds what the machine can do.", ""]
    mnist = HERE / "mnist.md"
    if mnist.exists():
        # The MNIST table takes 10 minutes to make: bench/mnist.py writes it, this report
        # includes its latest result as it stands.
        body = mnist.read_text().split("\n", 1)[1]
        lines += ["## MNIST beside the published results (from bench/mnist.py)", body]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, not results")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    parser.add_argument("--only", default=None, help="comma-separated workload keys")
    parser.add_argument("--render", type=Path, default=None,
                        help="re-render a report from the raw JSON of an earlier run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workload = json.loads(args.workload)
        print(json.dumps([run_worker(args.worker, w) for w in workload]
                         if isinstance(workload, list) else run_worker(args.worker, workload)))
        return
    if args.render:
        raw = json.loads(args.render.read_text())
        text = report(raw["rows"], raw["imports"], raw["repeats"], raw["smoke"], raw["date"])
        print(text)
        if args.out:
            Path(args.out).write_text(text)
        return
    repeats = args.repeats or (1 if args.smoke else 5)
    rows = []
    items = [w for w in workloads(args.smoke)
             if not args.only or w["key"] in args.only.split(",")]
    done = smoke_runs(items) if args.smoke else None
    for w in items:
        print(f"{w['name']} ...", flush=True)
        rows.append((w, measure(w, repeats, args.smoke, done)))
    imports = import_times(1 if args.smoke else 5)
    date = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    text = report(rows, imports, repeats, args.smoke, date)
    print(text)
    if args.out:
        from glassnet.io import atomic_write_bytes

        atomic_write_bytes(args.out, text.encode())
        raw = {"rows": rows, "imports": imports, "repeats": repeats, "smoke": args.smoke,
               "date": date}
        atomic_write_bytes(args.out.with_suffix(".json"), json.dumps(raw, indent=1).encode())


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(HERE))
    main()
