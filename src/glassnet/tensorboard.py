"""``TensorBoard``: a callback that writes a fit's curves and weights for TensorBoard.

Keras' callback of the same name, written with ``tensorboardX`` (TensorBoard's event files
without TensorFlow; ``pip install 'glassnet[tensorboard]'``). Every epoch: each metric of the
logs (``loss``, ``accuracy``, ``val_loss``, ...) and the learning rate as scalars; every
``histogram_freq`` epochs: each Dense layer's weights and biases, and their gradient from the
epoch's last step, as histograms. It works with ``fit``, the estimators' ``callbacks=`` and
``glassnet train --tensorboard DIR``; view with ``tensorboard --logdir DIR``.
"""

from __future__ import annotations

import os

from ._checks import check_int
from .callbacks import Callback

__all__ = ["TensorBoard"]


class TensorBoard(Callback):
    """Parameters
    ----------
    log_dir : path, the folder of the event files (made if missing).
    histogram_freq : int, write the weight and gradient histograms every this many epochs (0:
        never; then the callback reads the logs alone and fast engines run undisturbed).
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 1):
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ImportError("TensorBoard logging needs tensorboardX: pip install "
                              "'glassnet[tensorboard]'") from None
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = check_int(histogram_freq, "histogram_freq", low=0)
        self.reads_weights = self.histogram_freq > 0
        self.writer = None

    def on_train_begin(self, net, history) -> None:
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, epoch, logs, net, history) -> None:
        for key, value in logs.items():
            self.writer.add_scalar(key, value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for number, layer in enumerate(net.dense_layers, start=1):
                for name in ("W", "b"):
                    self.writer.add_histogram(f"layer{number}/{name}", getattr(layer, name),
                                              epoch)
                    self.writer.add_histogram(f"layer{number}/d{name}",
                                              getattr(layer, f"d{name}"), epoch)
        self.writer.flush()

    def on_train_end(self, net, history) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
