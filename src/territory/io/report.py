"""The import report: what was read, accepted, fixed, refused or left pending, and why.

Every importer returns one. The invariant ``read == accepted + refused + pending``
is checked before the report leaves the importer, so nothing is silently dropped.

Examples
--------
>>> r = ImportReport(kind="communes", source="communes.geojson")
>>> r.read = 3
>>> r.accept(2)
>>> r.refuse(3, "code INSEE manquant")
>>> r.check().to_dict()["refused"]
1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Refusal:
    """One refused row (1-based line or feature number) and its reason, in French."""

    row: int | str
    reason: str


@dataclass
class ImportReport:
    """Counts and reasons of one import; French text for the page, JSON for the CLI.

    ``already`` counts accepted rows that were stored already (an earlier import of the
    same rows: not added again); ``batch`` is the id the import got in the batch log
    (:mod:`territory.batches`), to undo it.
    """

    kind: str
    source: str
    read: int = 0
    accepted: int = 0
    fixed: int = 0
    refused: int = 0
    pending: int = 0
    already: int = 0
    batch: int | None = None
    refusals: list[Refusal] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def accept(self, n: int = 1) -> None:
        """Count ``n`` accepted rows."""
        self.accepted += n

    def refuse(self, row: int | str, reason: str) -> None:
        """Refuse one row with its reason."""
        self.refused += 1
        self.refusals.append(Refusal(row, reason))

    def fix(self, what: str, n: int = 1) -> None:
        """Record that ``n`` accepted rows were repaired (``what`` says how)."""
        self.fixed += n
        self.fixes.append(what)

    def note(self, message: str) -> None:
        """Record something the user should know (e.g. what cannot be computed)."""
        self.notes.append(message)

    def check(self) -> ImportReport:
        """Assert the accounting invariant; return ``self`` for chaining."""
        total = self.accepted + self.refused + self.pending
        if total != self.read:
            raise AssertionError(
                f"{self.kind}: lu {self.read} ≠ accepté {self.accepted} + refusé {self.refused}"
                f" + en attente {self.pending}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the CLI's ``--json``)."""
        return {
            "kind": self.kind,
            "source": self.source,
            "read": self.read,
            "accepted": self.accepted,
            "fixed": self.fixed,
            "refused": self.refused,
            "pending": self.pending,
            "already": self.already,
            "batch": self.batch,
            "refusals": [{"row": r.row, "reason": r.reason} for r in self.refusals],
            "fixes": list(self.fixes),
            "notes": list(self.notes),
        }

    def to_text(self, *, max_reasons: int = 20) -> str:
        """French summary: counts, then the first refusals, fixes and notes."""
        lines = [
            (
                f"Import « {self.kind} » depuis {self.source} : {self.read} lu(s), "
                f"{self.accepted} accepté(s) dont {self.fixed} corrigé(s), "
                f"{self.refused} refusé(s), "
                f"{self.pending} en attente."
            )
        ]
        lines += [f"  corrigé : {f}" for f in self.fixes]
        for r in self.refusals[:max_reasons]:
            lines.append(f"  refusé (ligne {r.row}) : {r.reason}")
        if len(self.refusals) > max_reasons:
            lines.append(f"  … et {len(self.refusals) - max_reasons} autre(s) refus")
        lines += [f"  note : {n}" for n in self.notes]
        if self.batch is not None:
            lines.append(
                f"  lot n° {self.batch} (pour l'annuler : territory batches undo {self.batch})"
            )
        return "\n".join(lines)
