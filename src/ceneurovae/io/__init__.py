"""Readers and writers of the supported file formats.

Every reader validates its input at the edge and returns `Recording` objects; errors are
`ceneurovae.errors.FormatError` naming the file, the key and the value.
"""

from .cohort import is_cohort_file, read_cohort, write_cohort

__all__ = ["is_cohort_file", "read_cohort", "write_cohort"]
