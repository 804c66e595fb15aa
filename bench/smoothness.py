"""How smoothly a loaded map pans and zooms in headless Chromium, frame by frame.

A user drags the map, then turns the mouse wheel. Between two frames the browser runs the
page's handlers and draws; a frame much longer than 1/60 s is a visible jerk. With a map
page loaded, :func:`gestures` records the start of every animation frame in the map's
frame (``requestAnimationFrame``) while Playwright's real mouse:

* **pans**: presses in the middle of the map, moves 200 px in 20 steps, pauses 0.1 s (so
  that Leaflet adds no inertia: what follows is the redraw only) and releases.
  ``pan_drag_longest_frame_s`` is the longest frame while the mouse moves, and
  ``pan_settle_s`` the time from the release to the second frame after Leaflet's
  ``moveend``: the map redrawn for its new view (the canvas is redrawn in ``moveend``);
* **zooms**: one notch of the wheel in the middle of the map. ``zoom_settle_s`` is the
  time from the wheel to the second frame after ``moveend`` (Leaflet's own 40 ms wheel
  debounce and 0.25 s zoom animation included), ``zoom_longest_frame_s`` the longest
  frame in between (the redraw at the new zoom is one of them).

The pans go right then back, the zooms in then out, ``repeats`` times each; medians kept.
A gesture that does not settle within ``timeout_s`` counts as ``timeout_s`` (a lower
bound), and ``gestures_capped`` is set.
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path
from typing import Any

FIGURES = (
    "pan_drag_longest_frame_s",
    "pan_settle_s",
    "zoom_settle_s",
    "zoom_longest_frame_s",
)
"""What :func:`gestures` returns (medians, seconds)."""
PAN_PX = 200
"""Length of a drag, in CSS pixels (a third of the map's height)."""
PAN_STEPS = 20
"""Mouse moves per drag."""

_PROBE_JS = (Path(__file__).parent / "smoothness_probe.js").read_text(encoding="utf-8")
"""The frame probe, a JavaScript function evaluated in the map's frame."""


def gestures(page: Any, frame: Any, *, repeats: int = 2, timeout_s: float = 60.0) -> dict[str, Any]:
    """Pan and zoom the map of ``frame`` (a Playwright frame holding one Leaflet map).

    ``page`` is the Playwright page (its mouse); the map must be drawn already. Returns
    the :data:`FIGURES`, and ``gestures_capped`` when a gesture did not settle within
    ``timeout_s``.
    """
    frame.evaluate(_PROBE_JS)
    box = frame.locator(".leaflet-container").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    figures: dict[str, list[float]] = {name: [] for name in FIGURES}
    capped = False
    for _ in range(repeats):
        for direction in (1, -1):
            page.mouse.move(x, y)
            frame.evaluate("() => window.__territoryProbe.start()")
            page.mouse.down()
            page.mouse.move(x + direction * PAN_PX, y, steps=PAN_STEPS)
            frame.evaluate("() => window.__territoryProbe.mark('moved')")
            time.sleep(0.1)
            frame.evaluate("() => window.__territoryProbe.mark('release')")
            page.mouse.up()
            record, late = _settled(frame, timeout_s)
            capped |= late
            _check_moved(record, pixels=direction * PAN_PX, zoom=0)
            frames, marks = record["frames"], record["marks"]
            figures["pan_drag_longest_frame_s"].append(
                _longest(frames, marks["start"], marks["moved"])
            )
            figures["pan_settle_s"].append(_since(record, "release", timeout_s))
        for notch in (-100, 100):  # in, then out
            page.mouse.move(x, y)
            frame.evaluate("() => window.__territoryProbe.start()")
            page.mouse.wheel(0, notch)
            record, late = _settled(frame, timeout_s)
            capped |= late
            _check_moved(record, pixels=0, zoom=1 if notch < 0 else -1)
            figures["zoom_settle_s"].append(_since(record, "start", timeout_s))
            end = record["settled"] if record["settled"] is not None else float("inf")
            figures["zoom_longest_frame_s"].append(
                _longest(record["frames"], record["marks"]["start"], end)
            )
    result: dict[str, Any] = {name: statistics.median(v) for name, v in figures.items()}
    if capped:
        result["gestures_capped"] = True
    return result


def _settled(frame: Any, timeout_s: float) -> tuple[dict[str, Any], bool]:
    """The probe's record once the map has settled (or after ``timeout_s``), and if late."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    late = False
    try:
        frame.wait_for_function(
            "() => window.__territoryProbe.settled !== null", timeout=1000 * timeout_s
        )
    except PlaywrightTimeout:
        late = True
    return frame.evaluate("() => window.__territoryProbe.stop()"), late


def _check_moved(record: dict[str, Any], *, pixels: int, zoom: int) -> None:
    """Raise unless the gesture moved the map as asked (when it settled at all).

    A drag of ``pixels`` to the right moves the view's centre as far to the left; a
    wheel notch up zooms in (``zoom`` 1), down out (-1), by at most two levels.
    """
    before, after = record["before"], record["after"]
    if after is None:
        return
    if zoom:
        change = after["zoom"] - before["zoom"]
        if not 0 < change * zoom <= 2:
            raise RuntimeError(f"zoom {before['zoom']} → {after['zoom']}, expected {zoom:+d}")
    elif abs((before["x"] - after["x"]) - pixels) > 0.1 * abs(pixels):
        moved = before["x"] - after["x"]
        raise RuntimeError(f"map moved by {moved:.0f} px, expected {pixels}")


def _since(record: dict[str, Any], mark: str, cap_s: float) -> float:
    """Seconds from the mark to the settled frame (``cap_s`` when it never settled)."""
    if record["settled"] is None:
        return cap_s
    return float(record["settled"] - record["marks"][mark]) / 1000


def _longest(frames: list[float], start: float, end: float) -> float:
    """Longest interval between frames from ``start`` to ``end`` (ms stamps), in seconds.

    The first frame is counted from ``start`` (the input), so that a gesture whose
    first frame comes late counts as one long frame.
    """
    stamps = [start, *(t for t in frames if start < t <= end)]
    if end != float("inf") and end > stamps[-1]:
        stamps.append(end)
    return max((b - a for a, b in itertools.pairwise(stamps)), default=0.0) / 1000
