"""Where users train: SGD, momentum and Adam at batch 32, 128 and 1024, glassnet against
PyTorch (its default optimizers), JAX (the whole step jit-compiled by XLA, optax's optimizers)
and scikit-learn's MLPClassifier, 784-512-512-10 float32.
glassnet runs twice: as installed (its fused Numba updates when Numba is there) and with
``fused=False``, the pure-NumPy updates a user without the ``fast`` extra gets.

    python bench/optimizers.py --out bench/optimizers.md [--smoke] [--repeats 3]

Each cell runs in its own process (no thread pools shared between libraries), frameworks in
rotating order, after a warm-up epoch; the table has the median of the repeats. Each process
also times *its own library's* matrix products for the same shapes alone (NumPy's for glassnet
and scikit-learn, ``torch.matmul`` for PyTorch): "owned" is an epoch's time minus those
products, the part of the step a library writes itself (the update, activations, the loss,
batching, its overhead). Comparing owned times separates what glassnet controls from the BLAS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

SIZES = [784, 512, 512, 10]
OPTIMIZERS = {"sgd": 0.01, "momentum": 0.01, "adam": 0.001}    # learning rates
BATCHES = (32, 128, 1024)
FRAMEWORKS = ("glassnet", "glassnet-numpy", "torch", "jax", "sklearn")


def worker(framework: str, optimizer: str, bs: int, n: int, epochs: int,
           smoke: bool = False) -> dict:
    import numpy as np
    from run import step_products

    rng = np.random.default_rng(0)
    # Standardised features, as users feed them. Uniform [0, 1) inputs with random labels killed
    # every ReLU under Adam at batch 32 within an epoch (668k of 670k gradients exactly zero);
    # the first moments then decayed through the subnormal range, where Intel CPUs take a
    # microcode assist per operation, and that cell timed a dead network (3.4 -> 11.8 s an epoch,
    # every library alike) instead of training.
    X = rng.standard_normal((n, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], n)
    lr = OPTIMIZERS[optimizer]
    if framework.startswith("glassnet"):
        import glassnet as gn

        net = gn.Network([gn.Dense(h, "relu") for h in SIZES[1:-1]] +
                         [gn.Dense(SIZES[-1], "softmax")], input_dim=SIZES[0], seed=0,
                         dtype="float32")
        fused = None if framework == "glassnet" else False
        opt = {"sgd": lambda: gn.SGD(lr, fused=fused),
               "momentum": lambda: gn.SGD(lr, momentum=0.9, fused=fused),
               "adam": lambda: gn.Adam(lr, fused=fused)}[optimizer]()

        def train(k):
            net.fit(X, y, optimizer=opt, epochs=k, batch_size=bs)

        def own():
            return step_products(SIZES, bs, np.matmul,
                                 lambda s: rng.random(s, dtype=np.float32), smoke)
    elif framework == "torch":
        import torch

        torch.manual_seed(0)
        layers = []
        for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(SIZES) - 2:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        opt = {"sgd": lambda: torch.optim.SGD(model.parameters(), lr=lr),
               "momentum": lambda: torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9),
               "adam": lambda: torch.optim.Adam(model.parameters(), lr=lr)}[optimizer]()
        loss_fn = torch.nn.CrossEntropyLoss()
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

        def train(k):
            for _ in range(k):
                order = torch.randperm(n)
                for start in range(0, n, bs):
                    idx = order[start:start + bs]
                    opt.zero_grad(set_to_none=True)
                    loss_fn(model(Xt[idx]), yt[idx]).backward()
                    opt.step()

        def own():
            with torch.no_grad():
                return step_products(SIZES, bs, torch.matmul, lambda s: torch.rand(s), smoke)
    elif framework == "jax":
        import jax
        import jax.numpy as jnp
        import optax

        key = jax.random.PRNGKey(0)
        params = []
        for a, b in zip(SIZES, SIZES[1:]):
            key, sub = jax.random.split(key)
            params.append((jax.random.normal(sub, (a, b), jnp.float32) * np.sqrt(2 / a),
                           jnp.zeros(b, jnp.float32)))
        tx = {"sgd": lambda: optax.sgd(lr), "momentum": lambda: optax.sgd(lr, momentum=0.9),
              "adam": lambda: optax.adam(lr)}[optimizer]()
        state = {"params": params, "opt": tx.init(params)}

        def loss(params, xb, yb):
            a = xb
            for W, b in params[:-1]:
                a = jax.nn.relu(a @ W + b)
            logits = a @ params[-1][0] + params[-1][1]
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        @jax.jit
        def step(params, opt_state, xb, yb):
            grads = jax.grad(loss)(params, xb, yb)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        Xj, yj = jnp.asarray(X), jnp.asarray(y.astype(np.int32))

        def train(k):
            params, opt_state = state["params"], state["opt"]
            for _ in range(k):
                order = rng.permutation(n)
                for start in range(0, n, bs):
                    idx = order[start:start + bs]
                    params, opt_state = step(params, opt_state, Xj[idx], yj[idx])
            jax.block_until_ready(params)
            state["params"], state["opt"] = params, opt_state

        def own():
            return float("nan")        # XLA fuses the products into the step: no split
    elif framework == "sklearn":
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        warnings.simplefilter("ignore", ConvergenceWarning)
        solver = "adam" if optimizer == "adam" else "sgd"

        def train(k):
            MLPClassifier(tuple(SIZES[1:-1]), solver=solver, learning_rate_init=lr,
                          momentum=0.9 if optimizer == "momentum" else 0.0,
                          nesterovs_momentum=False, alpha=0.0, batch_size=bs, max_iter=k,
                          tol=0.0, n_iter_no_change=k + 1, random_state=0).fit(X, y)

        def own():
            return step_products(SIZES, bs, np.matmul,
                                 lambda s: rng.random(s, dtype=np.float32), smoke)
    else:
        raise ValueError(framework)
    train(1)                                            # warm-up: buffers, caches, threads
    start = time.perf_counter()
    train(epochs)
    seconds = (time.perf_counter() - start) / epochs
    # The products right after, in the same process: this machine's speed drifts over minutes.
    product_seconds = own() * n / bs
    return {"epoch_s": seconds, "products_s": product_seconds}


def run(framework, cells, n, epochs, smoke=False) -> list[dict]:
    """``worker`` for each ``(optimizer, batch)`` of ``cells``, in one new process."""
    from run import in_process

    return in_process(Path(__file__).resolve(), [framework, cells, n, epochs, smoke])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, not results")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        framework, cells, n, epochs, smoke = json.loads(args.worker)
        print(json.dumps([worker(framework, o, bs, n, epochs, smoke) for o, bs in cells]))
        return
    from run import available, emit, machine, versions

    n, epochs = (256, 1) if args.smoke else (16384, 2)
    repeats = args.repeats or (1 if args.smoke else 3)
    frameworks = [f for f in FRAMEWORKS if available(f)]
    cells = {}
    grid = [(optimizer, bs) for optimizer in OPTIMIZERS for bs in BATCHES]
    # A smoke run checks the code, not the speed: one process per framework for every cell.
    smoke = {f: dict(zip(grid, run(f, grid, n, epochs, True))) for f in frameworks} \
        if args.smoke else None
    for optimizer, bs in grid:
        runs = {f: [] for f in frameworks}
        for r in range(repeats):
            for f in frameworks[r % len(frameworks):] + frameworks[:r % len(frameworks)]:
                runs[f].append(smoke[f][optimizer, bs] if smoke else
                               run(f, [(optimizer, bs)], n, epochs)[0])
        cells[optimizer, bs] = {f: {k: statistics.median(x[k] for x in rs)
                                    for k in ("epoch_s", "products_s")}
                                for f, rs in runs.items()}
        # Each repeat's own ratios (its processes ran within a minute of each other): this
        # machine's speed drifts 2x over minutes, which a ratio of medians taken at different
        # times can catch in one framework and not the other.
        for f in runs:
            cells[optimizer, bs][f]["paired"] = {
                g: statistics.median(a["epoch_s"] / b["epoch_s"]
                                     for a, b in zip(runs[g], runs[f]))
                for g in runs if g != f}
        line = ", ".join(f"{f} {n / c['epoch_s'] / 1000:.1f}k/s (products "
                         f"{c['products_s'] / c['epoch_s']:.0%})"
                         for f, c in cells[optimizer, bs].items())
        print(f"{optimizer} batch {bs}: {line}", flush=True)
    lines = [
        "# Training where users train: SGD, momentum, Adam", "",
        f"- machine: {machine()}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- work: 784-512-512-10 relu/softmax, float32, {n} samples an epoch (standard-normal "
        "features, random labels), shuffled mini-batches; learning rates SGD and momentum "
        "(0.9) 0.01, Adam 0.001 with its "
        "defaults. PyTorch: `torch.optim` defaults (its for-loop implementation on the CPU). "
        "glassnet: as installed (fused Numba updates " + ("on" if "numba" in versions() else
        "OFF: Numba is not installed") + ") and with `fused=False` (NumPy only).",
        f"- method: median of {repeats} runs, each in its own process after a warm-up epoch, "
        f"frameworks in rotating order. **owned** = epoch time - the library's own matrix "
        "products for the same shapes, each timed alone in that process right after "
        "(NumPy's for glassnet and scikit-learn, `torch.matmul` for PyTorch)."
        + (" SMOKE RUN: too short to mean anything." if args.smoke else ""),
        "",
        "| optimizer | batch | glassnet samples/s | NumPy only | PyTorch | JAX (jit) | "
        "scikit-learn | glassnet / PyTorch | glassnet / JAX | NumPy only / JAX | products: "
        "NumPy / torch (ms/epoch) | owned: glassnet / NumPy only / PyTorch (ms/epoch) | owned "
        "ratio | NumPy only |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (optimizer, bs), c in cells.items():
        def rate(f, c=c):
            return f"{n / c[f]['epoch_s'] / 1000:.1f}k" if f in c else "-"

        def owned(f, c=c):
            return 1000 * (c[f]["epoch_s"] - c[f]["products_s"])

        def ratio(f, c=c):
            ok = "torch" in c and owned("torch") > 0 and owned(f) > 0
            return f"{owned(f) / owned('torch'):.2f}" if ok else "-"

        g = c["glassnet"]
        own = f"{owned('glassnet'):.0f} / {owned('glassnet-numpy'):.0f}"
        if "torch" in c:
            t = c["torch"]
            speed = f"{g['paired']['torch']:.2f}x"
            prods = f"{1000 * g['products_s']:.0f} / {1000 * t['products_s']:.0f}"
            own += f" / {owned('torch'):.0f}"
        else:
            speed, prods, own = "-", f"{1000 * g['products_s']:.0f} / -", own + " / -"
        def versus(f, c=c):
            return f"{c[f]['paired']['jax']:.2f}x" if "jax" in c else "-"

        lines.append(f"| {optimizer} | {bs} | {rate('glassnet')} | {rate('glassnet-numpy')} | "
                     f"{rate('torch')} | {rate('jax')} | {rate('sklearn')} | {speed} | "
                     f"{versus('glassnet')} | {versus('glassnet-numpy')} | {prods} | {own} | "
                     f"{ratio('glassnet')} | {ratio('glassnet-numpy')} |")
    lines += ["", "samples/s: higher is better (medians over the repeats); glassnet / PyTorch "
              "and glassnet / JAX > 1: glassnet faster, the median over the repeats of each "
              "repeat's own ratio (the peer's epoch time over glassnet's, their processes run "
              "within a minute of each other: this machine's speed drifts up to 2x over "
              "minutes). owned "
              "ratio < 1: glassnet spends less time outside its products than PyTorch does "
              "outside its own (the issue's target; the ambition is 0.5). A negative owned time "
              "(\"-\" ratio) means the products timed alone took longer than in the epoch "
              "(seen at batch 32): that cell cannot be split."]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
