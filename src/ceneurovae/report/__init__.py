"""Figures and one HTML page to judge a trained model: ``ceneurovae report RUN``.

::

    from ceneurovae.report import write_report
    path = write_report(trained, datasets, "runs/first/report")   # -> runs/first/report/index.html

- `figures`: one function per figure; each takes arrays and returns a matplotlib Figure.
- `analysis`: the numbers behind them (predictions of held-out animals, R² tables, KL per
  latent dimension, reversal-triggered segments, traversals, a synthetic behavior).
- `html`: the page. `write`: `write_report`, which ties them together.

matplotlib is an optional dependency (``pip install ceneurovae[report]``), imported only
when a figure is drawn.
"""

from .figures import (
    plot_event_triggered,
    plot_generated,
    plot_kl_per_dimension,
    plot_latent_trajectories,
    plot_latent_traversal,
    plot_r2_by_class,
    plot_reconstruction,
    plot_training,
    save_figure,
)
from .write import best_epoch, read_metrics, write_report

__all__ = [
    "write_report",
    "read_metrics",
    "best_epoch",
    "save_figure",
    "plot_training",
    "plot_kl_per_dimension",
    "plot_reconstruction",
    "plot_r2_by_class",
    "plot_latent_trajectories",
    "plot_latent_traversal",
    "plot_event_triggered",
    "plot_generated",
]
