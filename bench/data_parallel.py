"""Data-parallel training on a local Dask cluster against one process, for a small and a wide
network: time per step at 1, 2 and 4 workers, and the bytes a step moves.

    python bench/data_parallel.py --out bench/data_parallel.md [--quick]

Each worker is a process with one thread (the BLAS of each is single-threaded), so on a
machine with C cores more than C workers compete for them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

WORKLOADS = {"small 20-32-1, batch 2048": ([32], 20, 2048),
             "wide 784-512-512-10, batch 1024": ([512, 512], 784, 1024)}


def network(hidden, n_features, n_out):
    import glassnet as gn

    head = gn.Dense(1, "sigmoid") if n_out == 1 else gn.Dense(n_out, "softmax")
    return gn.Network([gn.Dense(h, "relu") for h in hidden] + [head], input_dim=n_features,
                      seed=0)


def time_fit(net, X, y, batch, engine, epochs):
    import glassnet as gn

    net.fit(X[:batch * 2], y[:batch * 2], optimizer=gn.SGD(0.01), epochs=1, batch_size=batch,
            shuffle=False, engine=engine)                       # warm up
    start = time.perf_counter()
    net.fit(X, y, optimizer=gn.SGD(0.01), epochs=epochs, batch_size=batch, shuffle=False,
            engine=engine)
    steps = epochs * -(-len(X) // batch)
    return (time.perf_counter() - start) / steps


def run(quick):
    import distributed

    from glassnet.distributed import DataParallel

    n = 8192 if quick else 32768
    rows = []
    for name, (hidden, n_features, batch) in WORKLOADS.items():
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, n_features))
        n_out = 1 if hidden == [32] else 10
        y = (X[:, 0] > 0).astype(int) if n_out == 1 else rng.integers(0, 10, n)
        net = network(hidden, n_features, n_out)
        params = net.n_params
        single = time_fit(net, X, y, batch, "layered", 1)
        row = {"workload": name, "params": params, "single": single, "parallel": {}}
        for workers in (1, 2) if quick else (1, 2, 4):
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                          processes=True, dashboard_address=None,
                                          silence_logs=40) as cluster, \
                    distributed.Client(cluster) as client:
                row["parallel"][workers] = time_fit(network(hidden, n_features, n_out), X, y,
                                                    batch, DataParallel(client), 1)
        rows.append(row)
    return rows


def render(rows, quick) -> str:
    sys.path.insert(0, str(HERE))
    from run import machine

    lines = ["# Data-parallel training on a local Dask cluster", "",
             f"- machine: {machine()} ({os.cpu_count()} cores)",
             "- written by `bench/data_parallel.py`" + (" (QUICK RUN)" if quick else ""), "",
             "| workload | parameters | bytes moved per step (2 x params x 8 B x workers) | "
             "one process | 1 worker | 2 workers | 4 workers |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = []
        for w in (1, 2, 4):
            t = r["parallel"].get(w)
            cells.append("-" if t is None else f"{t * 1e3:.2f} ms ({r['single'] / t:.2f}x)")
        moved = ", ".join(f"{2 * r['params'] * 8 * w / 1e6:.2f} MB" for w in (1, 2, 4))
        lines.append(f"| {r['workload']} | {r['params']:,} | {moved} | "
                     f"{r['single'] * 1e3:.2f} ms | " + " | ".join(cells) + " |")
    lines += ["", "Times are per step (one mini-batch); in brackets, the speed-up over one "
              "process (above 1: faster)."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    text = render(run(args.quick), args.quick)
    if args.out:
        from glassnet.checkpoints import atomic_write_bytes

        atomic_write_bytes(args.out, text.encode())
    print(text)


if __name__ == "__main__":
    main()
