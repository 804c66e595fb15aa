"""Helpers shared by the benchmarks: spawned measurements, peak memory, the machine.

:func:`spawnable_main` is used by :mod:`bench.contacts` and :mod:`bench.priorities`
whenever they spawn a process; nothing here imports the other bench modules.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

__all__ = ["in_subprocess", "machine", "peak_mb", "reset_peak", "spawnable_main"]


def in_subprocess(
    func: Callable[..., dict[str, Any]], args: tuple[Any, ...], *, timeout: float | None
) -> dict[str, Any] | None:
    """``func(*args)`` in a fresh spawned process; None when it ran past ``timeout``."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(send, func, args), daemon=True)
    with spawnable_main():
        process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return None
        ok, value = receive.recv()
    except EOFError:
        ok, value = False, f"le processus de mesure s'est arrêté (code {process.exitcode})"
    finally:
        if process.is_alive():
            process.kill()
        process.join()
    if not ok:
        raise RuntimeError(f"{getattr(func, '__name__', func)} : {value}")
    return cast("dict[str, Any]", value)


@contextlib.contextmanager
def spawnable_main() -> Iterator[None]:
    """Hide a ``__main__`` script that is gone, while processes are spawned.

    Streamlit's ``AppTest`` leaves ``__main__`` naming a page script that may be removed
    by now (the naive page's temporary file); spawn would re-run it in the child, which
    would fail (and a ``multiprocessing.Pool`` would restart it forever).
    """
    main = sys.modules["__main__"]
    main_file = getattr(main, "__file__", None)
    if main_file and not Path(main_file).exists():
        del main.__file__
    try:
        yield
    finally:
        if main_file and not hasattr(main, "__file__"):
            main.__file__ = main_file


def _child(send: Any, func: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    try:
        send.send((True, func(*args)))
    except BaseException as exc:  # noqa: BLE001 - the parent is told of any failure and raises
        send.send((False, repr(exc)))


def peak_mb() -> float:
    """Peak resident memory of this process (MB) since the last :func:`reset_peak`."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> float:
    """Start measuring the peak from now (Linux); returns the memory in use (MB).

    Without the reset, the peak of the setup (libraries, communes) would hide a smaller
    peak of what is measured. Elsewhere the peak is the process's whole high-water mark.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return peak_mb()


def machine() -> dict[str, Any]:
    """Python version, processor count and platform of this machine."""
    import platform

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
