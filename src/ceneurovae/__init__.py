"""ceneurovae: a behavior-conditioned VAE for whole-brain recordings of identified neurons.

The front door::

    import ceneurovae
    datasets, labels = ceneurovae.import_h5("cohort.h5")
    trained = ceneurovae.fit(datasets)
    trained.impute(datasets[uid], hide=[0, 5])
"""

from importlib.metadata import PackageNotFoundError, version

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
from .import_data import import_h5
from .model import NeuroBehaviorVAE, VAEConfig
from .recording import Recording
from .train import TrainConfig

try:
    __version__ = version("ceneurovae")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

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
