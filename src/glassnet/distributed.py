"""Data-parallel training on a Dask cluster: the ``DataParallel`` engine.

The training set is split into contiguous shards that stay on the workers. Each step the
driver chooses the batch exactly as the layered engine does (the same shuffles), every worker
computes the *sum* of the gradients of its rows of that batch (``net.backpropagate`` on its
part, times the part's weight), and the driver adds them up, divides by the batch's weight,
and applies the optimizer to the one flat parameter buffer, which goes back to the workers with
the next step. So the iterates are those of single-process training with the same batches, up
to the reassociation of the sums (a test compares them at ``rtol=1e-6`` in float64). Dropout
masks are drawn on the workers, from streams seeded per shard from the network's own:
deterministic, but not the single-process masks.

Bytes moved per step: about ``2 x params x workers`` (the buffer out, a gradient back), against
``batch x n_features`` of work per worker: it pays when a step's arithmetic is large beside the
network (wide batches, small networks); ``docs/scale.md`` has the measurements.

Needs ``pip install 'glassnet[dask]'``. A worker lost mid-fit stops the fit with an error
that says so; the network keeps the weights from the start of that epoch, never wrong ones.
"""

from __future__ import annotations

import math

import numpy as np

from .engines import LayeredEngine, Plan, penalize

__all__ = ["DataParallel", "WorkerLostError", "WAIT_FOR_WORKERS_S"]

#: How long a fit waits for a cluster with no workers yet (starting, or replacing a lost one).
WAIT_FOR_WORKERS_S = 30


class WorkerLostError(RuntimeError):
    """A Dask worker (and the shard it held) was lost during a data-parallel fit."""


class _Remote:
    """What the training loop sees of data kept on the cluster: its length and shape."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype

    def __len__(self):
        return self.shape[0]


def _checked_block(net, X, y):
    """On a worker: one partition checked and converted as ``fit`` does for local data."""
    X, y, _ = net.check_data(np.asarray(X), np.asarray(y))
    return X, y, None


def _shard_step(net, shard, params, rows):
    """On a worker: ``(loss x weight, gradient x weight, correct, weight)`` of ``rows`` of its
    shard at ``params``."""
    X, y, w = shard
    net.params = params
    Xb, yb = X[rows], y[rows]
    wb = None if w is None else w[rows]
    loss, out = net.backpropagate(Xb, yb, wb)
    weight = float(len(rows)) if wb is None else float(wb.sum())
    correct = net.loss.n_correct(out, yb) if net.loss.is_classification else 0
    return float(loss) * weight, net.grads * weight, correct, weight


class DataParallel(LayeredEngine):
    """``net.fit(X, y, engine=DataParallel(client))``; ``n_shards`` defaults to one per worker.

    It walks the batches as the layered engine does (its ``run``, shuffles and divergence rule);
    only a batch's gradient is computed elsewhere.
    """

    name = "data_parallel"
    preferred_span = 1 << 20

    def __init__(self, client, n_shards: int | None = None):
        from ._checks import check_int

        if isinstance(client, str):
            raise TypeError(f"DataParallel takes a distributed.Client, not an address: pass "
                            f"Client({client!r})")
        if not all(hasattr(client, a) for a in ("submit", "scatter", "scheduler_info")):
            raise TypeError(f"DataParallel takes a distributed.Client; got "
                            f"{type(client).__name__}")
        if getattr(client, "status", "running") in ("closed", "closing"):
            raise ValueError("the Dask client is closed: make a new Client for DataParallel")
        self.client = client
        self.n_shards = check_int(n_shards, "n_shards", allow_none=True,
                                  expected="a positive integer (the number of shards)")
        self.adopted = None

    def adopt(self, net, X, y, sample_weight):
        """A Dask array's partitions become the shards, checked on the workers that hold them;
        nothing passes through this machine but their sizes."""
        try:
            import dask.array as da
        except ImportError:
            return None
        if not isinstance(X, da.Array):
            self.adopted = None
            return None
        if sample_weight is not None:
            raise ValueError("sample_weight with a Dask array X is not supported; fold the "
                             "weights into the data or pass NumPy arrays")
        if X.ndim != 2 or not np.isfinite(X.shape).all():
            raise ValueError(f"X must be a 2-D Dask array of known shape; got {X.shape}")
        if not net.built:
            net.build(X.shape[1])
        X = X.rechunk({1: -1})
        y = da.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and "
                             f"{y.shape[0]}")
        y = y.rechunk((X.chunks[0],) + tuple((s,) for s in y.shape[1:]))
        from dask import delayed

        probe = net.clone()
        blocks = [delayed(_checked_block)(probe, xb, yb) for xb, yb in
                  zip(X.to_delayed().ravel(), y.to_delayed().ravel())]
        futures = self.client.compute(blocks)
        self.client.gather(futures)            # errors in the data surface here, named
        who = self.client.who_has(futures)
        self.adopted = [(f, sorted(who[f.key])[:1]) for f in futures]
        sizes = np.cumsum([0, *X.chunks[0]])
        self.adopted_bounds = sizes.astype(int)
        n_out = net.output_dim
        y_shape = (X.shape[0],) if net.loss.name == "categorical_crossentropy" and \
            y.ndim == 1 else (X.shape[0], n_out)
        return _Remote(X.shape, net.dtype), _Remote(y_shape, net.dtype), None

    def start(self, plan: Plan) -> None:
        self._start_batches(plan)
        client, net = self.client, plan.net
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            # Workers still starting, or restarting after one was lost: wait, but not forever.
            try:
                client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
            except TimeoutError:
                raise WorkerLostError(
                    f"the Dask cluster has no workers (waited {WAIT_FOR_WORKERS_S} s); start "
                    "some, or pass a Client whose cluster has them") from None
            workers = sorted(client.scheduler_info()["workers"])
        n = len(plan.X)
        if self.adopted is not None:
            k = len(self.adopted)
            self.bounds = self.adopted_bounds
        else:
            k = max(1, min(self.n_shards or len(workers), n))
            self.bounds = np.linspace(0, n, k + 1).astype(int)
        # Per-shard dropout streams, seeded from the network's own: deterministic.
        seeds = np.random.SeedSequence(int(net.dropout_rng.integers(2 ** 63))).spawn(k)
        self.shards, self.nets, self.homes = [], [], []
        for i in range(k):
            if self.adopted is not None:
                future, where = self.adopted[i]
                self.shards.append(future)
                self.homes.append(where)
                shard_net = net.clone()
                shard_net.dropout_rng = np.random.default_rng(seeds[i])
                self.nets += client.scatter([shard_net], workers=where, hash=False)
                continue
            s, e = self.bounds[i], self.bounds[i + 1]
            where = [workers[i % len(workers)]]
            self.homes.append(where)
            w = None if plan.sample_weight is None else plan.sample_weight[s:e]
            # scatter() splits a sequence into one future per item: a list of one keeps the
            # shard one object. hash=False: by default a key is the content's hash, so a second
            # fit on the same data would share keys that the first one's close() releases.
            self.shards += client.scatter([(plan.X[s:e], plan.y[s:e], w)], workers=where,
                                          hash=False)
            shard_net = net.clone()
            shard_net.dropout_rng = np.random.default_rng(seeds[i])
            self.nets += client.scatter([shard_net], workers=where, hash=False)

    def _gradient(self, idx, epoch):
        """The batch ``idx`` (global rows): its mean loss, correct count and weight, with the
        mean gradient written into ``net.grads``."""
        parts = []
        for i in range(len(self.shards)):
            s, e = self.bounds[i], self.bounds[i + 1]
            rows = idx[(idx >= s) & (idx < e)] - s
            if len(rows):
                # Pinned to the shard's worker: the data stays where it was put, never copied.
                parts.append(self.client.submit(_shard_step, self.nets[i], self.shards[i],
                                                self.net.params, rows, pure=False,
                                                workers=self.homes[i],
                                                allow_other_workers=False))
        try:
            results = self.client.gather(parts)
        except Exception as exc:   # noqa: BLE001 - any loss of a worker or its data
            self.net.params = self.snapshots.snapshot
            raise WorkerLostError(
                f"a Dask worker was lost during epoch {epoch} ({type(exc).__name__}: {exc}); "
                "its shard of the data went with it. The network keeps the weights from the "
                "start of that epoch: fit again to send the data anew") from None
        weight = sum(r[3] for r in results)
        norm = weight if weight > 0 else 1.0
        grads = self.net.grads
        grads[...] = sum(r[1] for r in results)
        grads /= norm
        return sum(r[0] for r in results) / norm, sum(r[2] for r in results), weight

    def _epoch(self, epoch, rate):
        net, plan = self.net, self.plan
        params, grads = net.params, net.grads
        n, bs = len(plan.X), self.batch_size
        order = self.order(n) if self.shuffle else np.arange(n)
        self.snapshots.begin()
        total_loss, correct = 0.0, 0
        for start in range(0, n, bs):
            loss, hits, weight = self._gradient(order[start:start + bs], epoch)
            if not math.isfinite(loss):
                return self.snapshots.restore(epoch, first_batch=start == 0)
            if (plan.l1 or plan.l2) and weight > 0:
                loss += penalize(params, grads, net.n_weights, plan, weight)
            total_loss += loss * weight
            correct += hits
            step = grads
            if plan.clip_norm is not None:
                norm = math.sqrt(float(grads @ grads))
                if norm > plan.clip_norm:
                    step = grads * (plan.clip_norm / norm)
            self.optimizer.step(params, step, net.n_weights)
        self.snapshots.end(epoch)
        total = n if plan.sample_weight is None else float(plan.sample_weight.sum())
        return total_loss / total, correct / n

    def close(self):
        for future in self.shards + self.nets:
            future.release()
        self.shards, self.nets, self.adopted = [], [], None
        self.net.release_buffers()
