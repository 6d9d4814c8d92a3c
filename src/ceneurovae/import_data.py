"""`import_h5`, the seed's entry point for reading recordings (defined in `ceneurovae.io.reading`).

``from ceneurovae.import_data import import_h5`` is a promised import path; the reader
itself lives in `ceneurovae.io` with the formats it ties together.
"""

from .io.reading import import_h5

__all__ = ["import_h5"]
