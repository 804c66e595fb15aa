"""The one key and fingerprint scheme: what is stored instead of who and which row.

Every keyed hash of the product comes from here: the person pseudonyms
(:func:`person_pseudonyms`), the fingerprints of imported rows (:func:`row_fingerprints`)
and of the contacts recorded from a round's feedback (:func:`feedback_fingerprints`).
All three are SipHash-2-4 (the keyed hash of :func:`pandas.util.hash_array`, followed by
its fixed bijective mixing), each with its own 128-bit key derived from the secret
(:func:`load_secret`, kept outside the workspace) and a purpose string, and are stored
as 16 lowercase hex characters (:func:`fingerprint_text`).

Examples
--------
>>> prints = feedback_fingerprints(b"0" * 32, "2026-W45|A|gare|09:00", "hors radars", 2)
>>> len(prints), len(prints[0]), prints[0] != prints[1]
(2, 16, True)
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from territory.settings import Settings

__all__ = [
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


def row_fingerprints(rows: pd.DataFrame, secret: bytes) -> npt.NDArray[np.uint64]:
    r"""Keyed 64-bit fingerprint of each row of a contact file (all its fields, in order).

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
_PERSON_PURPOSE = b"territory person key v3"
_FEEDBACK_PURPOSE = b"territory round feedback v1"
_HASHED_AT_ONCE = 25_000  # texts made into Python bytes at a time
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
