"""siambench: train, run and score Siamese single-object trackers.

Importing the package is cheap: it never imports torch, reads no data and touches no network.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("siambench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
