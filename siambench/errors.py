"""The project's exceptions.

Every error a user can cause (a missing dataset, a malformed ground-truth file, a corrupt frame,
an unknown name) is raised as a :class:`SiambenchError` whose message says what was expected,
where, and how to fix it. The CLI prints the message without a traceback and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class SiambenchError(Exception):
    """Base class of every user-facing siambench error."""


class DatasetNotFoundError(SiambenchError):
    """A dataset folder could not be found in any of the places looked at."""


class UnknownNameError(SiambenchError):
    """A dataset, sequence or tracker name that is not known."""


class DataFormatError(SiambenchError):
    """A file whose content is not what its format requires.

    The message names the file, the 1-based line when there is one, and what was expected.
    """

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None,
                 hint: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.hint = hint
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        message = f"{where}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class FrameReadError(SiambenchError):
    """An image file that is missing, unreadable or corrupt; raised when the frame is read."""
