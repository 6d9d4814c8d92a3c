"""Readers and writers of the supported file formats.

========  ==============================  ======================================
format    files                           module
========  ==============================  ======================================
1         ``<uid>-data.h5`` (Flavell lab)  `flavell`: `read_flavell`, `write_flavell`
2         WormWideWeb JSON v1              `wormwideweb`: `read_wormwideweb`,
3         WormWideWeb JSON v2              `write_wormwideweb` (``version=1|2``)
4         cohort HDF5                      `cohort`: `read_cohort`, `write_cohort`
labels    ``{uid: {"<row>": {...}}}``      `labels`: `read_label_file`, `assign_labels`
========  ==============================  ======================================

Every reader validates its input at the edge and returns `Recording` objects; bad input
raises `ceneurovae.errors.FormatError` naming the file, the key and the values, and data
that stays usable after a repair gives a `ceneurovae.errors.DataWarning` saying what was
done. `import_h5` (module `reading`) ties them together.
"""

from .behavior import DEFAULT_BEHAVIORS
from .cohort import is_cohort_file, read_cohort, write_cohort
from .detect import Source, detect_format, find_sources
from .flavell import TRACE_KINDS, flavell_uid, is_flavell_file, read_flavell, write_flavell
from .formats import FORMAT_TABLE, FORMATS, Format, format_named
from .labels import (
    LabelAssignment,
    LabelEntry,
    assign_labels,
    parse_label_dict,
    read_label_file,
    write_label_file,
)
from .reading import import_h5
from .resample import common_time_step, resample, resample_to_common, time_step
from .summary import format_summary, summary_rows
from .wormwideweb import load_json, read_wormwideweb, wormwideweb_version, write_wormwideweb

__all__ = [
    "DEFAULT_BEHAVIORS",
    "FORMATS",
    "FORMAT_TABLE",
    "Format",
    "format_named",
    "TRACE_KINDS",
    "LabelAssignment",
    "LabelEntry",
    "Source",
    "assign_labels",
    "common_time_step",
    "detect_format",
    "find_sources",
    "flavell_uid",
    "format_summary",
    "import_h5",
    "is_cohort_file",
    "is_flavell_file",
    "load_json",
    "parse_label_dict",
    "read_cohort",
    "read_flavell",
    "read_label_file",
    "read_wormwideweb",
    "resample",
    "resample_to_common",
    "summary_rows",
    "time_step",
    "wormwideweb_version",
    "write_cohort",
    "write_flavell",
    "write_label_file",
    "write_wormwideweb",
]
