"""ceneurovae: a behavior-conditioned VAE for whole-brain recordings of identified neurons.

The front door::

    import ceneurovae
    datasets, labels = ceneurovae.import_h5("cohort.h5")
    trained = ceneurovae.fit(datasets)
    trained.impute(datasets[uid], hide=[0, 5])
"""

from .api import Trained, fit, load
from .config import Config, DataConfig
from .errors import (
    CeNeuroVAEError,
    CheckpointError,
    ConfigError,
    DataError,
    FormatError,
    TrainingError,
)
from .identity import Vocabulary
from .io import import_h5
from .model import NeuroBehaviorVAE, VAEConfig
from .recording import Recording
from .training import TrainConfig
from .version import __version__

__all__ = [
    "__version__",
    "fit",
    "load",
    "import_h5",
    "Trained",
    "Recording",
    "Vocabulary",
    "Config",
    "DataConfig",
    "VAEConfig",
    "TrainConfig",
    "NeuroBehaviorVAE",
    "CeNeuroVAEError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "FormatError",
    "TrainingError",
]
