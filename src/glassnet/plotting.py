"""Figures: loss curve, decision boundary, data scatter, image predictions.

Each function returns a matplotlib ``Figure`` and shows nothing; the caller saves or shows it.
The CLI saves with the Agg backend, so no display is needed.
"""

from __future__ import annotations

import numpy as np

from .losses import class_indices

__all__ = ["loss_curve", "decision_boundary", "scatter", "image_predictions", "save", "to_png",
           "predicted_vs_true"]


def _figure(figsize=(6.4, 4.8)):
    from matplotlib.figure import Figure

    # A bare Figure (not pyplot): no global state, no display, works in threads and servers.
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _history_dict(history):
    return history.history if hasattr(history, "history") else history


def loss_curve(history, title: str = "Training loss", log_scale: bool | None = None):
    """The loss per epoch (and the validation loss when present) from a ``History``."""
    h = _history_dict(history)
    fig, ax = _figure()
    epochs = np.arange(1, len(h["loss"]) + 1)
    ax.plot(epochs, h["loss"], label="training loss", color="tab:blue")
    if "val_loss" in h:
        # Validation may run every few epochs (fit(validation_freq=N)) or only at the end.
        val_epochs = np.asarray(getattr(history, "val_epochs", None) or h.get("val_epochs")
                                or range(len(h["val_loss"]))) + 1
        ax.plot(val_epochs, h["val_loss"], label="validation loss", color="tab:orange",
                marker="o" if len(val_epochs) < 30 else None)
    if log_scale or (log_scale is None and max(h["loss"]) > 20 * max(min(h["loss"]), 1e-12)):
        ax.set_yscale("log")
    ax.set_xlabel("epoch (one full-batch step = one epoch)" if len(epochs) > 1000 else "epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


def scatter(X, y, ax=None, title: str = "Data", class_names=None):
    """2-D points coloured by class."""
    fig = None
    if ax is None:
        fig, ax = _figure()
    X, y = np.asarray(X), np.asarray(y)
    classes = np.unique(y)
    cmap = _cmap(len(classes))
    for i, cls in enumerate(classes):
        pts = X[y == cls]
        name = class_names[i] if class_names is not None and i < len(class_names) else cls
        ax.scatter(pts[:, 0], pts[:, 1], s=18, color=cmap(i), edgecolor="k", linewidth=0.4,
                   label=f"class {name}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig if fig is not None else ax.figure


def _cmap(n):
    import matplotlib

    return matplotlib.colormaps["coolwarm" if n == 2 else "tab10"].resampled(max(n, 2))


def decision_boundary(model, X, y, title: str = "Decision boundary", resolution: int = 300,
                      class_names=None):
    """The model's predicted class over the plane, with the data scattered on top.

    ``model`` is a ``Network`` or anything with ``predict_proba`` (a scikit-learn estimator).
    For two classes the background is the probability of class 1, with the 0.5 contour.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.shape[1] != 2:
        raise ValueError(f"a decision boundary needs 2-D data; X has {X.shape[1]} features")
    pad = 0.1 * (X.max(0) - X.min(0)) + 1e-9
    lo, hi = X.min(0) - pad, X.max(0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    proba = model.predict_proba(grid)
    fig, ax = _figure()
    n_classes = len(np.unique(y))
    if proba.shape[1] <= 2:
        p1 = (proba[:, -1]).reshape(xx.shape)
        surf = ax.contourf(xx, yy, p1, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.6)
        ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(surf, ax=ax, label="P(class 1)")
    else:
        labels = proba.argmax(axis=1).reshape(xx.shape)
        ax.contourf(xx, yy, labels, levels=np.arange(proba.shape[1] + 1) - 0.5,
                    cmap=_cmap(proba.shape[1]), alpha=0.4)
    scatter(X, y, ax=ax, title=title, class_names=class_names)
    if n_classes <= 2:
        ax.plot([], [], color="k", label="P = 0.5")
        ax.legend(loc="best", fontsize="small")
    return fig


def image_predictions(model, images, labels=None, image_shape=None, class_names=None,
                      max_images: int = 16, title: str = "Predictions"):
    """A grid of images with predicted (and true) labels; wrong ones titled in red.

    ``images``: rows ``(n, h*w*c)`` with ``image_shape=(h, w, c)``, or an array of images.
    """
    from matplotlib.figure import Figure

    images = np.asarray(images)
    flat = images.reshape(len(images), -1)[:max_images]
    shape = image_shape or images.shape[1:]
    proba = model.predict_proba(flat)
    pred = class_indices(proba)
    conf = proba.max(1) if proba.shape[1] > 1 else np.where(pred == 1, proba[:, 0],
                                                              1 - proba[:, 0])
    n = len(flat)
    cols = min(n, 4 if n <= 8 else 8)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(2.1 * cols, 2.4 * rows), layout="constrained")
    fig.suptitle(title)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        img = flat[i].reshape(shape)
        ax.imshow(img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img,
                  cmap="gray" if img.ndim == 2 or img.shape[-1] == 1 else None)
        name = class_names[pred[i]] if class_names is not None else str(pred[i])
        text = f"{name} ({conf[i]:.0%})"
        wrong = labels is not None and int(np.asarray(labels)[i]) != int(pred[i])
        if labels is not None:
            true = int(np.asarray(labels)[i])
            text += f"\ntrue: {class_names[true] if class_names is not None else true}"
        ax.set_title(text, fontsize=8, color="red" if wrong else "black")
        ax.axis("off")
    return fig


def save(fig, path) -> None:
    """Save a figure atomically (temporary file, then rename)."""
    import io as _io
    from pathlib import Path

    from ._files import atomic_write_bytes

    buf = _io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", dpi=120)
    atomic_write_bytes(path, buf.getvalue())


def to_png(fig, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (for notebooks and streams)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def predicted_vs_true(predicted, true, title: str = "Predicted against true"):
    """A regression's predictions against the true values, with the diagonal they would lie
    on if they were right."""
    predicted, true = np.ravel(predicted), np.ravel(true)
    fig, ax = _figure()
    ax.scatter(true, predicted, s=14, alpha=0.7, edgecolor="k", linewidth=0.3)
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    ax.plot([low, high], [low, high], color="tab:red", linewidth=1, label="predicted = true")
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig
