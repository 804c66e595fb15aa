"""The one key and fingerprint scheme: what is stored instead of who and which row.

Every keyed hash of the product comes from here: the person pseudonyms
(:func:`person_pseudonyms`), the fingerprints of imported rows (:func:`content_fingerprints`;
:func:`row_fingerprints`, the earlier scheme, is still read) and of the contacts recorded
from a round's feedback (:func:`feedback_fingerprints`). All are SipHash-2-4 (the keyed
hash of :func:`pandas.util.hash_array`, followed by its fixed bijective mixing), each with
its own 128-bit key derived from the secret (:func:`load_secret`, kept outside the
workspace) and a purpose string, and are stored as 16 lowercase hex characters
(:func:`fingerprint_text`).

Examples
--------
>>> prints = feedback_fingerprints(b"0" * 32, "2026-W45|A|gare|09:00", "hors radars", 2)
>>> len(prints), len(prints[0]), prints[0] != prints[1]
(2, 16, True)
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from territory.settings import Settings

__all__ = [
    "Occurrences",
    "content_fingerprints",
    "feedback_fingerprints",
    "fingerprint_text",
    "legacy_feedback_fingerprints",
    "load_secret",
    "person_pseudonyms",
    "row_fingerprints",
    "siphash_key",
]


def load_secret(settings: Settings) -> bytes:
    """The HMAC secret, created (32 random bytes, mode 600) on first use, outside the workspace."""
    path = Path(settings.secret_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


class Occurrences:
    """How many times each content was met so far in one import (see :func:`content_fingerprints`).

    Keeps one 64-bit hash and one count per distinct content (sorted arrays), so that the
    numbering goes on from chunk to chunk of a file.

    Examples
    --------
    >>> seen = Occurrences()
    >>> seen.number(np.array([7, 7, 3], dtype=np.uint64)).tolist()
    [0, 1, 0]
    >>> seen.number(np.array([3, 7], dtype=np.uint64)).tolist(), seen.repeated
    ([1, 2], 3)
    """

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.counts = np.empty(0, dtype=np.int64)
        self.repeated = 0  # rows numbered 1 or more: identical to an earlier row

    def copy(self) -> Occurrences:
        """An independent copy (a file read again from its start restarts from it)."""
        other = Occurrences()
        other.keys, other.counts, other.repeated = self.keys, self.counts.copy(), self.repeated
        return other

    def number(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """The occurrence number of each hash (0: first time met), in order; counts them."""
        if not len(hashes):
            return np.empty(0, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")  # equal hashes together, in file order
        ordered = hashes[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(hashes)]))
        unique, counts = ordered[starts], np.diff(np.r_[starts, len(hashes)])
        where = np.minimum(np.searchsorted(self.keys, unique), max(len(self.keys) - 1, 0))
        found = self.keys[where] == unique if len(self.keys) else np.zeros(len(unique), bool)
        before = np.where(found, self.counts[where] if len(self.keys) else 0, 0)
        result = np.empty(len(hashes), dtype=np.int64)
        result[order] = before[group] + np.arange(len(hashes)) - starts[group]
        self.counts[where[found]] += counts[found]
        new = ~found
        if new.any():  # two sorted runs: the stable sort merges them in linear time
            keys = np.concatenate([self.keys, unique[new]])
            merged = np.argsort(keys, kind="stable")
            self.keys = keys[merged]
            self.counts = np.concatenate([self.counts, counts[new]])[merged]
        self.repeated += int((result > 0).sum())
        return result


def content_fingerprints(
    rows: pd.DataFrame | Sequence[Any], secret: bytes, occurrences: Occurrences
) -> npt.NDArray[np.uint64]:
    r"""Keyed 64-bit fingerprint of each anonymised row: its normalised content and rank.

    The identity of a row is what is stored of it, not its file's layout (``privacy.md``):
    the values of ``rows`` (date, hour, cell, commune, categories, person pseudonym: the
    caller's columns, in its order, as a frame or a list of columns; a categorical or
    integer column as its text, a missing value as ``""``) joined with ``\x1f`` and
    hashed with SipHash-2-4 under a key of their own (purpose
    ``"territory row content v3"``). The same rows with their columns
    reordered, renamed, or with a column that is not stored added or dropped get the same
    fingerprints.

    Identical rows of one file are told apart by their occurrence number, counted by
    ``occurrences`` over the whole import: the ``n``-th repeat (``n`` ≥ 1) has ``"\x1f#n"``
    appended before it is hashed. Two genuine identical contacts of a file are thus both
    kept, and importing the file again gives the same fingerprints (nothing added). A file
    that repeats a row of an earlier file only once counts it as already stored.

    Examples
    --------
    >>> rows = pd.DataFrame({"date": ["2026-03-02"] * 3, "hour": [9, 9, 10]})
    >>> a = content_fingerprints(rows, b"0" * 32, Occurrences())
    >>> b = content_fingerprints(rows[["date", "hour"]], b"0" * 32, Occurrences())
    >>> len(set(a)), (a == b).all()
    (3, np.True_)
    """
    columns = [rows[c] for c in rows.columns] if isinstance(rows, pd.DataFrame) else list(rows)
    if not columns or not len(columns[0]):
        return np.empty(0, dtype=np.uint64)
    arrays = [_text(c) for c in columns]
    joined = pc.binary_join_element_wise(
        *arrays, pa.scalar("\x1f", pa.large_string()), null_handling="replace", null_replacement=""
    )
    key = siphash_key(secret, _CONTENT_PURPOSE)
    hashes = keyed_hashes(joined, key)
    rank = occurrences.number(hashes)
    again = rank > 0
    if again.any():
        suffix = pa.array([f"\x1f#{n}" for n in rank[again]], type=pa.large_string())
        empty = pa.scalar("", pa.large_string())
        repeated = pc.binary_join_element_wise(joined.filter(pa.array(again)), suffix, empty)
        hashes[again] = keyed_hashes(repeated, key)
    return hashes


def _text(values: Any) -> pa.Array:
    """A column as Arrow text: categories decoded, integers written out, missing as null."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes)
        categories = pd.Series(values.categories, dtype=object).astype(str)
        arrow = pa.DictionaryArray.from_arrays(
            pa.array(codes, mask=codes < 0), to_arrow(categories)
        )
        return arrow.cast(pa.large_string())
    if pd.api.types.is_integer_dtype(values.dtype):
        return pc.cast(pa.array(values, from_pandas=True), pa.large_string())
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def row_fingerprints(rows: pd.DataFrame, secret: bytes) -> npt.NDArray[np.uint64]:
    r"""Keyed 64-bit fingerprint of each row of a contact file (all its fields, in order).

    The earlier scheme (rows imported before :func:`content_fingerprints`): still computed
    on a re-import into a workspace that holds such rows, so that they are not doubled.

    The fields of a row are joined with ``\x1f`` and hashed with SipHash-2-4 (the hash
    of :func:`pandas.util.hash_array`, followed by its fixed bijective mixing). Its
    128-bit key is 16 ASCII characters (112 secret bits) taken from
    ``HMAC-SHA256(secret, "territory row fingerprint v2")``. SipHash is a keyed
    pseudo-random function: without the secret, a fingerprint tells nothing about its
    row and a guessed row cannot be checked against the stored fingerprints. It replaces
    a per-row HMAC-SHA256 computed in a Python loop, several times slower.

    64 bits make accidental equality unlikely but not impossible: among ``n`` distinct
    rows, the chance that two share a fingerprint is about ``n² / 2⁶⁵`` (3 × 10⁻⁸ for
    a million rows, 3 × 10⁻⁶ for ten million); such a row would be taken for a
    duplicate and not stored. Stored as 16 hex characters. Fingerprints of the earlier
    format (20 hex characters, HMAC-SHA256 of the row) never equal these: a file
    imported before the change and imported again would be stored a second time.
    """
    if not len(rows):
        return np.empty(0, dtype=np.uint64)
    arrays = [to_arrow(rows[c]) for c in rows.columns]
    joined = pc.binary_join_element_wise(
        *arrays, pa.scalar("\x1f", pa.large_string()), null_handling="replace", null_replacement=""
    )
    return keyed_hashes(joined, siphash_key(secret, _FINGERPRINT_PURPOSE))


def fingerprint_text(fingerprints: npt.NDArray[np.uint64]) -> npt.NDArray[np.object_]:
    """Fingerprints as stored: 16 lowercase hex characters each."""
    raw = np.ascontiguousarray(fingerprints, dtype=">u8").view(np.uint8).reshape(-1, 8)
    digits = np.empty((len(raw), 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[raw >> 4]
    digits[:, 1::2] = _HEX_DIGITS[raw & 15]
    # Python strings made by Arrow from the bytes: faster than through numpy's "U16"
    offsets = np.arange(0, 16 * len(raw) + 1, 16, dtype=np.int64)
    text = pa.Array.from_buffers(
        pa.large_string(), len(raw), [None, pa.py_buffer(offsets), pa.py_buffer(digits)]
    )
    return cast("npt.NDArray[np.object_]", text.to_numpy(zero_copy_only=False))


def person_pseudonyms(keys: pd.Series, secret: bytes) -> npt.NDArray[np.object_]:
    """What is stored instead of each person key: its keyed hash, 16 hex characters.

    The key is stripped; an empty or missing key stays ``""``. The hash is the keyed
    SipHash-2-4 of :func:`row_fingerprints`, with its own key (another purpose string
    in the derivation from the secret): the same person gets the same pseudonym in
    every import made with the same secret, so that distinct people can be counted,
    and without the secret a pseudonym cannot be linked to its key, nor a guessed key
    checked against the stored pseudonyms. Computed once per distinct key. Among ``n``
    people, the chance that two share a pseudonym (and count as one) is about
    ``n² / 2⁶⁵`` (3 × 10⁻⁹ for 350,000 people).

    Pseudonyms stored by earlier versions (20 hex characters, HMAC-SHA256 of the key)
    never equal these: a person met in contacts imported before the change and in
    contacts imported after it has two pseudonyms.

    Examples
    --------
    >>> keys = pd.Series(["P1", " P1", "P2", ""])
    >>> pseudonyms = person_pseudonyms(keys, b"0" * 32)
    >>> pseudonyms[0] == pseudonyms[1] != pseudonyms[2], len(pseudonyms[0]), pseudonyms[3]
    (True, 16, '')
    """
    return person_hashes(keys, person_key(secret))


def person_key(secret: bytes) -> str:
    """The SipHash key of the person pseudonyms (derive it once per import)."""
    return siphash_key(secret, _PERSON_PURPOSE)


def person_hashes(values: pd.Series, key: str) -> npt.NDArray[np.object_]:
    """:func:`person_pseudonyms` with the SipHash key already derived (:func:`person_key`)."""
    encoded = pc.dictionary_encode(to_arrow(values.str.strip().fillna("")))
    distinct = encoded.dictionary
    text = fingerprint_text(keyed_hashes(distinct, key))
    text[pc.equal(distinct, "").to_numpy(zero_copy_only=False)] = ""
    return cast("npt.NDArray[np.object_]", text[encoded.indices.to_numpy()])


def feedback_fingerprints(secret: bytes, visit_key: str, status: str, n: int) -> list[str]:
    """Fingerprints of the ``n`` contacts of one status recorded for one visit of a round.

    The ``i``-th contact's fingerprint is the keyed SipHash-2-4 (own purpose string) of
    ``"retour|{visit_key}|{status}|{i}"``, as 16 hex characters: recording the same
    visit again gives the same fingerprints, so that its earlier numbers can be found
    and replaced, and without the secret they say nothing about the visit.

    Examples
    --------
    >>> a = feedback_fingerprints(b"0" * 32, "v", "orienté", 3)
    >>> a[:2] == feedback_fingerprints(b"0" * 32, "v", "orienté", 2), len(set(a))
    (True, 3)
    """
    if n <= 0:
        return []
    texts = pa.array([f"retour|{visit_key}|{status}|{i}" for i in range(n)], type=pa.large_string())
    hashed = keyed_hashes(texts, siphash_key(secret, _FEEDBACK_PURPOSE))
    return [str(t) for t in fingerprint_text(hashed)]


def legacy_feedback_fingerprints(secret: bytes, visit_key: str, status: str, n: int) -> list[str]:
    """Fingerprints that round feedback was given before :func:`feedback_fingerprints`.

    16 hex characters of HMAC-SHA256 of the same texts. Never written any more: only read,
    so that recording a visit again also replaces numbers recorded before the change.
    """
    return [
        hmac.digest(secret, f"retour|{visit_key}|{status}|{i}".encode(), "sha256")[:8].hex()
        for i in range(max(n, 0))
    ]


def keyed_hashes(texts: pa.Array, key: str) -> npt.NDArray[np.uint64]:
    """SipHash-2-4 of the UTF-8 bytes of each text, then pandas' bijective mixing.

    The same numbers as ``pandas.util.hash_array(texts, hash_key=key, categorize=False)``
    on the texts as Python strings; the bytes are handed over as they are (Python
    ``bytes``, not ``str``: no decoding then encoding again), a slice at a time.
    """
    result = np.empty(len(texts), dtype=np.uint64)
    raw = texts.cast(pa.large_binary())
    for start in range(0, len(raw), _HASHED_AT_ONCE):  # few Python objects at a time
        part = raw.slice(start, _HASHED_AT_ONCE).to_numpy(zero_copy_only=False)
        result[start : start + len(part)] = pd.util.hash_array(part, hash_key=key, categorize=False)
    return result


def siphash_key(secret: bytes, purpose: bytes) -> str:
    """The 16-character SipHash key of one use of the secret (112 secret bits).

    ``HMAC-SHA256(secret, purpose)``, 7 bits of each of its first 16 bytes (pandas
    takes the key as 16 characters encoded in UTF-8: ASCII keeps them 16 bytes).
    """
    digest = hmac.digest(secret, purpose, "sha256")
    return "".join(chr(b & 0x7F) for b in digest[:16])


def to_arrow(values: pd.Series) -> pa.Array:
    """The values as one Arrow ``large_string`` array (no copy for pandas' ``str``)."""
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array


_FINGERPRINT_PURPOSE = b"territory row fingerprint v2"
_CONTENT_PURPOSE = b"territory row content v3"
_PERSON_PURPOSE = b"territory person key v3"
_FEEDBACK_PURPOSE = b"territory round feedback v1"
_HASHED_AT_ONCE = 25_000  # texts made into Python bytes at a time
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
