"""Notebook helpers: ``LivePlot``, a callback that redraws the loss curve in place.

``Network``, ``History`` and ``Explanation`` display themselves in notebooks (``_repr_html_``,
``_repr_png_``); this module adds what needs IPython's display machinery (``pip install
ipython``, which every notebook has).
"""

from __future__ import annotations

from ._checks import check_positive_int
from .callbacks import Callback

__all__ = ["LivePlot"]


class LivePlot(Callback):
    """Redraw the loss curve (and the validation loss) every ``every`` epochs, in place."""

    reads_weights = False

    def __init__(self, every: int = 10):
        self.every = check_positive_int(every, "every")
        self.handle = None
        self.frames = 0

    def on_train_begin(self, net, history):
        try:
            from IPython.display import display
        except ImportError:
            raise ImportError("LivePlot needs IPython (it runs in notebooks): "
                              "pip install ipython") from None
        self._display = display
        self.handle, self.frames = None, 0

    def _draw(self, history):
        from IPython.display import Image

        from .plotting import loss_curve, to_png

        image = Image(to_png(loss_curve(history, title=f"loss, epoch {len(history)}")))
        if self.handle is None:
            self.handle = self._display(image, display_id=True)
        else:
            self.handle.update(image)
        self.frames += 1

    def on_epoch_end(self, epoch, logs, net, history):
        if (epoch + 1) % self.every == 0:
            self._draw(history)
        return False

    def on_train_end(self, net, history):
        if len(history):
            self._draw(history)
