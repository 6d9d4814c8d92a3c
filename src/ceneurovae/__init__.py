"""ceneurovae: a behavior-conditioned VAE for whole-brain recordings of identified neurons."""

from importlib.metadata import PackageNotFoundError, version

from .errors import CeNeuroVAEError, ConfigError, DataError
from .identity import Vocabulary
from .recording import Recording

try:
    __version__ = version("ceneurovae")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "CeNeuroVAEError",
    "ConfigError",
    "DataError",
    "Recording",
    "Vocabulary",
]
