"""The size of the demo territory: :class:`DemoScale` and its presets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from territory._errors import ValidationError
from territory.demo.geography import DEPARTEMENTS

__all__ = ["DemoScale"]


@dataclass(frozen=True)
class DemoScale:
    """Size of the demo; the defaults make a small intercommunal territory.

    Attributes
    ----------
    communes
        Number of communes, 7 to 3,996 (999 per fictional département: one up to 999,
        two up to 1,998, four beyond).
    qpv
        Number of QPV wanted, up to 3,996; an upper bound, as a QPV with no room left in
        the urban communes is left out (a few dozen fit in the default territory, about
        a thousand in the regional one).
    partners, contacts
        Rows of the partner list and of the contact export.
    months
        Months of contacts, ending on :data:`territory.demo.contacts.CONTACTS_END`.
    earlier
        The previous year's export, as a share of ``contacts``: a second contact file
        from January 2025 to the month before the first file's months (ten months by
        default), so that the demo programme has two years of statuses; 0: no such file.
        The benchmark presets have none (their 1 M contacts stay comparable).
    """

    communes: int = 40
    qpv: int = 4
    partners: int = 25
    contacts: int = 20_000
    months: int = 12
    earlier: float = 0.6

    def __post_init__(self) -> None:
        problems = [
            f"{name} doit être entre {lo} et {hi}, reçu {value}"
            for name, value, lo, hi in [
                ("communes", self.communes, 7, 999 * len(DEPARTEMENTS)),
                ("qpv", self.qpv, 0, 999 * len(DEPARTEMENTS)),
                ("partners", self.partners, 3, 10_000),
                ("contacts", self.contacts, 1, 10_000_000),
                ("months", self.months, 1, 36),
                ("earlier", self.earlier, 0, 2),
            ]
            if not lo <= value <= hi
        ]
        if problems:
            raise ValidationError(problems)

    @classmethod
    def departement(cls) -> DemoScale:
        """A benchmark with the commune count of Nord + Pas-de-Calais and 1 M contacts."""
        return cls(communes=1_550, qpv=160, partners=500, contacts=1_000_000, earlier=0.0)

    @classmethod
    def region(cls) -> DemoScale:
        """A regional benchmark: the most communes the fictional codes allow, 1 M contacts.

        3,996 communes in four fictional départements (a region such as
        Auvergne-Rhône-Alpes or Hauts-de-France has 3,800-4,000), 1,600 QPV asked (all of
        France has about 1,600; 1,039 find room in the urban communes with the default
        seed) and 1,500 partners. About 90 s of processor time to build.
        """
        return cls(
            communes=999 * len(DEPARTEMENTS), qpv=1_600, partners=1_500, contacts=1_000_000,
            earlier=0.0,
        )  # fmt: skip

    @classmethod
    def named(cls, name: str) -> DemoScale:
        """The preset called ``name``: ``"demo"``, ``"departement"`` or ``"region"``.

        Examples
        --------
        >>> DemoScale.named("region").communes
        3996
        >>> DemoScale.named("pays")
        Traceback (most recent call last):
        ...
        territory._errors.ValidationError: échelle « pays » inconnue (demo, departement, region)
        """
        presets: dict[str, Callable[[], DemoScale]] = {
            "demo": cls,
            "departement": cls.departement,
            "region": cls.region,
        }
        if name not in presets:
            raise ValidationError(f"échelle « {name} » inconnue ({', '.join(presets)})")
        return presets[name]()
