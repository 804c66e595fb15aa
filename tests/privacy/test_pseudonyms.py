"""The one key and fingerprint scheme: row fingerprints, their stored format, feedback."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from territory.privacy import pseudonyms

SECRET = b"0" * 32


def test_fingerprints_are_keyed_and_tell_rows_apart() -> None:
    rows = pd.DataFrame({"a": ["x", "x", "x", "xy", "x"], "b": ["y", "y", "z", "", "y"]}, dtype=str)
    first = pseudonyms.row_fingerprints(rows, SECRET)
    assert first.dtype == np.uint64
    assert first[0] == first[1] and first[4] == first[0]
    assert len(set(first[[0, 2, 3]])) == 3  # "x|y", "x|z", "xy|" differ
    other = pseudonyms.row_fingerprints(rows, b"1" * 32)
    assert not set(first) & set(other)  # another secret, other fingerprints
    text = pseudonyms.fingerprint_text(first)
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in text)
    assert int(text[2], 16) == int(first[2])


def test_fingerprints_keep_the_format_stored_in_existing_workspaces() -> None:
    # computed by the version that first stored them: a file imported then and imported
    # again now must be recognised as already stored
    rows = pd.DataFrame({"a": ["x", "é à 漢字"], "b": ["y", ""]}, dtype=str)
    text = pseudonyms.fingerprint_text(pseudonyms.row_fingerprints(rows, SECRET))
    assert list(text) == ["82f2268fb7ff3be4", "23672acc96826809"]


def test_content_fingerprints_are_keyed_and_number_identical_rows() -> None:
    rows = pd.DataFrame(
        {
            "date": ["2026-03-02", "2026-03-02", "2026-03-02"],
            "hour": [9, 9, 9],
            "cell": pd.Categorical(["c1", "c1", "c2"]),
            "personne": ["", "", "ab"],
        }
    )
    first = pseudonyms.content_fingerprints(rows, SECRET, pseudonyms.Occurrences())
    assert len(set(first)) == 3  # the second row is the first's repeat: numbered, kept
    # the same content as text, in another order: the same fingerprints
    text = rows.astype({"hour": str, "cell": object})[["date", "hour", "cell", "personne"]]
    assert (pseudonyms.content_fingerprints(text, SECRET, pseudonyms.Occurrences()) == first).all()
    # keyed, and not the earlier scheme's fingerprint of the same fields
    other = pseudonyms.content_fingerprints(rows, b"1" * 32, pseudonyms.Occurrences())
    assert not set(first) & set(other)
    assert not set(first) & set(pseudonyms.row_fingerprints(text, SECRET))
    # the numbering goes on from one chunk to the next
    seen = pseudonyms.Occurrences()
    parts = [pseudonyms.content_fingerprints(rows.iloc[i : i + 1], SECRET, seen) for i in range(3)]
    assert [int(p[0]) for p in parts] == [int(f) for f in first]
