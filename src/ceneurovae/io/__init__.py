"""Readers and writers of the supported file formats, and `import_h5` that ties them together.

==============  ==============================  ============================================
module          holds                           public names
==============  ==============================  ============================================
`flavell`       format 1: ``<uid>-data.h5``     `read_flavell`, `write_flavell`
`wormwideweb`   formats 2, 3: WormWideWeb JSON  `read_wormwideweb`, `write_wormwideweb`
                v1 and v2                       (``version=1|2``)
`cohort`        format 4: cohort HDF5           `read_cohort`, `write_cohort`
`nwb`           format 5: NWB (DANDI), local    `read_nwb`, `write_nwb`, `describe_nwb`
                or remote
`nwb_results`   the model's results as NWB      `write_predictions_nwb`
`labels`        label files                     `read_label_file`, `assign_labels`,
                ``{uid: {"<row>": {...}}}``     `write_label_file`
`formats`       the format table                `FORMAT_TABLE`, `FORMATS`, `Format`,
                                                `format_named`
`detect`        which format a file is in       `detect_format`, `find_sources`, `Source`
`reading`       the dispatcher                  `import_h5`, `read_recordings`
`options`       the ``read`` settings section   `ReadOptions`
`behavior`      behavior names, units, signs    `DEFAULT_BEHAVIORS`, `LAB_DIVISORS`,
                                                `HEAD_TARGETS`
`resample`      a common time step              `resample`, `resample_to_common`
`summary`       the table ``info`` prints       `format_summary`, `summary_rows`
`validate`      checks shared by the readers    `damaged_file_guard`, `warn`, ...
==============  ==============================  ============================================

Every reader validates its input at the edge and returns `Recording` objects; bad input
raises `ceneurovae.errors.FormatError` naming the file, the key and the values, and data
that stays usable after a repair gives a `ceneurovae.errors.DataWarning` saying what was
done. `import_h5` (module `reading`) ties them together; `read_recordings` is the same
with a `ReadOptions`.

Adding a format
---------------
Write one module (``io/<format>.py``) with its reader, its writer and a detector that
recognizes an open file (an HDF5 group, or a JSON file's bytes or parsed content), then add
one `Format` row to `formats.FORMAT_TABLE`, at the place in the detection order where it
should be tried, with a small ``read`` function returning a `formats.Piece` (or
``labels`` for a file that only lends neuron names). `detect_format`, `find_sources` and
`import_h5` take every format from that table; nothing else branches on format names.
"""

from .behavior import DEFAULT_BEHAVIORS, HEAD_TARGETS, LAB_DIVISORS
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
from .nwb import describe_nwb, read_nwb, write_nwb
from .options import ReadOptions
from .reading import import_h5, read_recordings
from .resample import common_time_step, resample, resample_to_common, time_step
from .summary import format_summary, summary_rows
from .wormwideweb import load_json, read_wormwideweb, wormwideweb_version, write_wormwideweb

__all__ = [
    "describe_nwb",
    "read_nwb",
    "write_nwb",
    "DEFAULT_BEHAVIORS",
    "FORMATS",
    "HEAD_TARGETS",
    "LAB_DIVISORS",
    "ReadOptions",
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
    "read_recordings",
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
