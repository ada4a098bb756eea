"""Reading and writing raw tracking results in every common format (never imports torch).

``read_tracker`` / ``find_trackers`` (``read``) read pysot/got10k/pytracking text results, VOT
baseline folders, GOT-10k folders, OTB toolkit ``.mat`` and JSON results, from folders or zip
archives; ``align`` matches them to a dataset; ``write_ope`` / ``write_vot`` / ``write_got10k``
write the official formats (``write_runs`` / ``remove_sequence_results``: a sequence's files in
the result format a protocol names); ``pack_got10k`` builds the GOT-10k server's submission zip.

Every raw-result file is untrusted input: archives are read within size limits and with member
names checked (``tree``), ``.mat`` files are parsed in a worker process (``matfile``), and one
unreadable sequence file leaves that sequence out with a warning rather than refusing the
tracker (``read``; ``strict=True`` makes it an error).
"""

from siambench.results.align import align
from siambench.results.pack import pack_got10k
from siambench.results.read import (
           detect_format,
           find_trackers,
           read_tracker,
           split_mat_names,
)
from siambench.results.types import FAILURE, INIT, REGION, SKIPPED, Run, TrackerResults
from siambench.results.write import (
    remove_sequence_results,
    write_got10k,
    write_ope,
    write_runs,
    write_vot,
    write_votlt,
)

__all__ = ["FAILURE", "INIT", "REGION", "SKIPPED", "Run", "TrackerResults", "align",
           "detect_format", "find_trackers", "pack_got10k", "read_tracker",
           "remove_sequence_results", "split_mat_names", "write_got10k", "write_ope", "write_runs",
           "write_vot", "write_votlt"]
