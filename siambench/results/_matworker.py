"""The worker process of :mod:`siambench.results.matfile`: ``python -m siambench.results._matworker
MEMORY_BYTES ALARM_S``. Never imported by siambench itself.

Reads requests from stdin and answers on stdout (see :mod:`siambench.results.matfile` for the
protocol) until stdin closes. Anything else written to stdout, by Python or compiled code, goes
to stderr so that it cannot corrupt the answers. The process limits its own address space to
what it holds after start-up plus ``MEMORY_BYTES``, ignores Ctrl-C (the parent handles it), and
ends itself (SIGALRM) if one file takes longer than ``ALARM_S`` seconds, should the parent be
gone and unable to stop it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any, BinaryIO

_ONE_LINE = 300


def main(argv: list[str]) -> int:
    memory, alarm = int(argv[0]), int(argv[1])
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray output of scipy or numpy goes to stderr, never into the answers
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer

    import numpy  # noqa: F401  (imported before the memory limit is set)
    import scipy.io  # noqa: F401

    from siambench.results.matfile import READY

    _limit_memory(memory)
    answers.write(READY)
    answers.flush()
    while True:
        line = requests.readline()
        if not line:
            return 0
        request = json.loads(line)
        size = int(request["size"])
        data = requests.read(size)
        if len(data) != size:
            return 1
        if alarm and hasattr(signal, "alarm"):
            signal.alarm(alarm)
        answer, payload = _answer(data, Path(request["where"]), memory)
        if hasattr(signal, "alarm"):
            signal.alarm(0)
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.write(payload)
        answers.flush()


def _answer(data: bytes, where: Path, memory: int) -> tuple[dict[str, Any], bytes]:
    import numpy as np

    from siambench.errors import DataFormatError
    from siambench.results.parse import _load_otb_mat

    try:
        run, notes = _load_otb_mat(data, where)
    except DataFormatError as error:
        return {"ok": False, "problem": error.problem, "hint": error.hint}, b""
    except MemoryError:
        return {"ok": False, "problem": f"needs more than {memory / 2**20:.0f} MiB of memory to "
                                        "read (a result file needs a few MB); refused",
                "hint": "a crafted or corrupt file"}, b""
    except Exception as exc:  # the sandbox's boundary: scipy raises anything on crafted bytes
        text = " ".join(f"{type(exc).__name__}: {exc}".split())[:_ONE_LINE]
        return {"ok": False, "problem": f"not a readable MATLAB .mat file ({text})",
                "hint": "save it again with MATLAB (save -v7) or scipy.io.savemat"}, b""
    boxes = np.ascontiguousarray(run.boxes, dtype="<f8")
    payload = boxes.tobytes()
    if run.times is not None:
        payload += np.ascontiguousarray(run.times, dtype="<f8").tobytes()
    return {"ok": True, "rows": len(boxes), "times": run.times is not None,
            "start": run.start_frame, "anno": run.anno_begin, "notes": notes}, payload


def _limit_memory(extra: int) -> None:
    """Cap the address space at its current size plus ``extra`` bytes (Linux; else no-op)."""
    try:
        import resource

        pages = int(Path("/proc/self/statm").read_text().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + extra
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError, IndexError):
        pass  # no /proc or no RLIMIT_AS: the time limit still applies


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
