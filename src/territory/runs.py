r"""Reproducible runs: a parameters file (YAML) → every output, and a manifest (``territory run``).

A run reads one parameters file, checks it whole (every problem at once, in French:
:class:`~territory.ValidationError`), then writes the outputs it names through the
notebook API (:mod:`territory.api`, hence the same protected functions as the app) into
its output folder, with ``run.json``: the parameters, their SHA-256, the software
version, the protection in force, the input layers' sources, vintages and versions, and
each output's SHA-256. **The same file and the same workspace give the same bytes**, every
file of the folder ``run.json`` included (no clock time is written anywhere; the date of
the run is a parameter).

The file (see ``examples/params.yaml``)::

    workspace: ../workspaces/demo.gpkg  # relative to the parameters file
    output_dir: run-demo                # idem; created, its files replaced
    date: 2026-12-01                    # written in the package; the moment of the
                                        # indicators' default week (default: the day of the
                                        # workspace's last change)
    territories: [Communes rurales]     # default: the whole workspace
    period: 2026-T1                     # the density's and hot spots' quarter (default:
                                        # every contact)
    outputs:
      package: {crs: EPSG:2154}
      density:
      indicators: {zones: commune}
      ranking: {zones: commune, weights: {need: 2, coverage: 1, access: 1, mobility: 1}}
      hot_spots: {method: gi, permutations: 999, seed: 20261207, alpha: 0.05}
      accessibility: {mode: marche, decay: gaussian, catchment_min: 30}
      plan: {week: 2026-W49, solutions: 25, max_seconds: 300}

``outputs`` is a mapping (an output with no options takes its defaults) or a list of
names. With ``territories``, each per-zone output is written once per territory
(``density-communes-rurales.geojson``…) and the package holds them together.

**Protection.** ``k`` and the rounding are not parameters of a run: they are those of the
workspace's settings (:class:`~territory.settings.Settings`, ``TERRITORY_K``…, never below
the defaults' protection); a file that names them is refused. ``run.json`` records them,
and they enter the parameters hash.

**The week's plan** (``plan``). In the app the planner's local search is bounded by time
(:mod:`territory.rounds.solver`), so that a busier or faster machine ends on another plan
(on the demo, 1-s and 3-s searches gave 61 and 65 visits). A run bounds it by a number of
solutions instead (``solutions``, default :data:`PLAN_SOLUTIONS`, for each independent
part of the week): OR-Tools' search is then the same on any machine and load, so the plan
is too. ``max_seconds`` is only a safety cap: if it stops a search first, the plan's entry
in ``run.json`` says ``"reproducible": false`` and ``"stopped_by": "temps"`` (else
``"solutions"``), with the OR-Tools version, since another version may search otherwise.
Every other output is always reproducible.

Floor: the services' (beside :mod:`territory.export` and :mod:`territory.evaluation`), as
it calls them through :mod:`territory.api`; the CLI calls it from above.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "p.yaml").write_text(
...     f"workspace: {demo}\noutput_dir: out\ndate: 2026-12-01\n"
...     "outputs: [density, ranking]\n", encoding="utf-8")
>>> report = run_file(folder / "p.yaml")
>>> sorted(p.name for p in report.files)
['density.geojson', 'ranking.geojson', 'run.json']
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from territory import __version__
from territory._errors import ValidationError
from territory.settings import Settings

if TYPE_CHECKING:
    import geopandas as gpd

    from territory.api import Opened

__all__ = [
    "MANIFEST",
    "OUTPUTS",
    "PLAN_SOLUTIONS",
    "RunParameters",
    "RunReport",
    "load_parameters",
    "run",
    "run_file",
]

MANIFEST = "run.json"
PLAN_SOLUTIONS = 25
"""Solutions after which a run's week plan stops each part's search (measured on the demo
week 2026-W49: 25 solutions in 1-2 s of search, objective 55.2, within 2.5 % of 50 and
100 solutions' 56.5; 50 took 15-20 s more)."""
_TOP = ("workspace", "output_dir", "date", "territories", "period", "outputs")
_REFUSED = {
    "k": "le seuil k n'est pas un paramètre de run : c'est celui de l'espace de travail "
    "(TERRITORY_K, jamais sous la protection par défaut)",
    "rounding": "l'arrondi n'est pas un paramètre de run : c'est celui de l'espace de travail",
    "arrondi": "l'arrondi n'est pas un paramètre de run : c'est celui de l'espace de travail",
}


@dataclass(frozen=True)
class _Option:
    """One option of an output: its type check, its default, its allowed values."""

    kind: str  # "text", "int", "number", "choice", "weights", "week", "moment"
    default: Any
    choices: tuple[str, ...] = ()


_ZONES = ("commune", "qpv", "cell")
OUTPUTS: dict[str, dict[str, _Option]] = {
    "package": {
        "crs": _Option("text", "EPSG:2154"),
        "format": _Option("choice", "gpkg", ("gpkg", "zip")),
    },
    "density": {},
    "indicators": {"zones": _Option("choice", "commune", _ZONES), "at": _Option("moment", None)},
    "ranking": {
        "zones": _Option("choice", "commune", _ZONES),
        "weights": _Option("weights", None),
        "at": _Option("moment", None),
    },
    "hot_spots": {
        "method": _Option("choice", "gi", ("gi", "moran")),
        "weights": _Option("choice", "queen", ("queen", "distance")),
        "band_m": _Option("number", 500.0),
        "permutations": _Option("int", 999),
        "seed": _Option("int", 20261207),
        "alpha": _Option("number", 0.05),
    },
    "accessibility": {
        "mode": _Option("choice", "marche", ("marche", "vélo", "voiture", "transports en commun")),
        "zones": _Option("choice", "commune", ("commune", "qpv")),
        "decay": _Option("choice", "stepped", ("none", "stepped", "gaussian")),
        "catchment_min": _Option("number", 30.0),
        "supply": _Option("choice", "partners", ("partners", "hours")),
    },
    "plan": {
        "week": _Option("week", None),
        "solutions": _Option("int", PLAN_SOLUTIONS),
        "max_seconds": _Option("number", 300.0),
    },
}
"""Each output a run can write, its options and their defaults (in writing order)."""


@dataclass(frozen=True)
class RunParameters:
    """A checked parameters file (:func:`load_parameters`).

    Attributes
    ----------
    source
        The parameters file.
    workspace, output_dir
        Resolved against the file's folder.
    values
        The parameters with every default filled in, as hashed (``output_dir`` apart:
        where the files go changes none of them).
    """

    source: Path
    workspace: Path
    output_dir: Path
    values: dict[str, Any]

    @property
    def digest(self) -> str:
        """SHA-256 of :attr:`values` as canonical JSON (without the protection in force)."""
        return _sha256(_canonical(self.values).encode())


@dataclass(frozen=True)
class RunReport:
    """What a run wrote.

    Attributes
    ----------
    output_dir
        The folder.
    files
        Every file written, ``run.json`` last.
    manifest
        The content of ``run.json``.
    """

    output_dir: Path
    files: tuple[Path, ...]
    manifest: dict[str, Any] = field(repr=False)

    def to_text(self) -> str:
        """One French line: the folder, the outputs, the parameters hash."""
        outputs = len(self.manifest["outputs"])
        return (
            f"Run écrit dans {self.output_dir} : {outputs} fichier(s) et {MANIFEST} ; "
            f"empreinte des paramètres {self.manifest['parameters_hash'][:12]}"
        )


# ------------------------------------------------------------------------------ reading


def load_parameters(path: str | Path, *, settings: Settings | None = None) -> RunParameters:
    r"""Read and check a parameters file; every problem is reported at once.

    ``settings`` (default: :meth:`Settings.from_env
    <territory.settings.Settings.from_env>`) say which quarters are published.

    Raises
    ------
    ValidationError
        The file is missing or not YAML; an unknown key or output, a value of the wrong
        type or out of its choices, a missing workspace, territory or quarter (French,
        each problem named with its key).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.yaml"
    >>> _ = p.write_text("workspace: absent.gpkg\noutputs: {density: {x: 1}}\nk: 5\n")
    >>> load_parameters(p)
    Traceback (most recent call last):
    ...
    territory._errors.ValidationError: k : le seuil k n'est pas un paramètre de run : c'est celui de l'espace de travail (TERRITORY_K, jamais sous la protection par défaut) ; output_dir : clé obligatoire manquante ; outputs.density.x : option inconnue (aucune option) ; workspace : espace de travail introuvable (absent.gpkg)
    """  # noqa: E501
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValidationError(f"fichier de paramètres introuvable : {path}") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path.name} n'est pas un texte UTF-8") from exc
    except OSError as exc:
        raise ValidationError(f"fichier de paramètres illisible : {path}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (ligne {mark.line + 1})" if mark is not None else ""
        raise ValidationError(f"{path.name} n'est pas un YAML valide{where}") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path.name} : attendu des clés (workspace, output_dir, outputs…)")
    problems: list[str] = []
    for key in data:
        if key in _REFUSED:
            problems.append(f"{key} : {_REFUSED[key]}")
        elif key not in _TOP:
            problems.append(f"{key} : clé inconnue (attendu : {', '.join(_TOP)})")
    values: dict[str, Any] = {}
    for key in ("workspace", "output_dir"):
        raw = data.get(key)
        if raw is None:
            problems.append(f"{key} : clé obligatoire manquante")
        elif not isinstance(raw, str) or not raw.strip():
            problems.append(f"{key} : attendu un chemin (texte)")
        else:
            values[key] = raw.strip()
    values["date"] = _date(data.get("date"), "date", problems)
    values["territories"] = _territories(data.get("territories"), problems)
    period = data.get("period")
    if period is not None and not (
        isinstance(period, str) and re.fullmatch(r"\d{4}-T[1-4]", period)
    ):
        problems.append(f"period : attendu un trimestre AAAA-Tn (ex. 2026-T1), reçu {period!r}")
        period = None
    values["period"] = period
    values["outputs"] = _outputs(data.get("outputs"), problems)
    folder = path.resolve().parent
    workspace = (folder / values.get("workspace", "")).resolve()
    if "workspace" in values:
        _check_workspace(workspace, values, problems, settings or Settings.from_env())
    if "plan" in values["outputs"] and len(values["territories"]) > 1:
        problems.append("outputs.plan : une semaine se planifie sur un seul territoire à la fois")
    if problems:
        raise ValidationError(sorted(problems))
    return RunParameters(
        source=path,
        workspace=workspace,
        output_dir=(folder / values.pop("output_dir")).resolve(),
        values=values,
    )


def _date(raw: object, key: str, problems: list[str]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    problems.append(f"{key} : attendu une date AAAA-MM-JJ, reçu {raw!r}")
    return None


def _territories(raw: object, problems: list[str]) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(t, str) and t.strip() for t in raw):
        problems.append("territories : attendu une liste de noms de territoires")
        return []
    return list(dict.fromkeys(t.strip() for t in raw))


def _outputs(raw: object, problems: list[str]) -> dict[str, dict[str, Any]]:
    if raw is None:
        problems.append("outputs : clé obligatoire manquante (ex. outputs: [package, density])")
        return {}
    if isinstance(raw, list) and all(isinstance(name, str) for name in raw):
        raw = dict.fromkeys(raw)
    if not isinstance(raw, dict) or not raw:
        problems.append("outputs : attendu une liste de sorties ou des sorties avec leurs options")
        return {}
    found: dict[str, dict[str, Any]] = {}
    for name, options in raw.items():
        if name not in OUTPUTS:
            problems.append(f"outputs.{name} : sortie inconnue (attendu : {', '.join(OUTPUTS)})")
            continue
        if options is None:
            options = {}
        if not isinstance(options, dict):
            problems.append(f"outputs.{name} : attendu des options (clé: valeur) ou rien")
            continue
        known = OUTPUTS[name]
        checked: dict[str, Any] = {}
        for key, value in options.items():
            if key not in known:
                allowed = ", ".join(known) or "aucune option"
                problems.append(f"outputs.{name}.{key} : option inconnue ({allowed})")
            else:
                checked[key] = _option(value, known[key], f"outputs.{name}.{key}", problems)
        for key, option in known.items():
            checked.setdefault(key, option.default)
        if name == "plan" and checked.get("week") is None and "week" not in options:
            problems.append("outputs.plan.week : semaine obligatoire (ex. 2026-W49)")
        if name == "plan":
            solutions, seconds = checked["solutions"], checked["max_seconds"]
            if isinstance(solutions, int) and solutions < 1:
                problems.append("outputs.plan.solutions : au moins 1 solution")
            if isinstance(seconds, float) and not seconds > 0:
                problems.append("outputs.plan.max_seconds : un nombre de secondes > 0")
        found[name] = {key: checked[key] for key in known}
    return {name: found[name] for name in OUTPUTS if name in found}  # a stable order


def _option(value: object, option: _Option, key: str, problems: list[str]) -> object:
    kind = option.kind
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "text" and isinstance(value, str) and value.strip():
        return value.strip()
    if kind == "choice" and isinstance(value, str) and value in option.choices:
        return value
    if kind == "week" and isinstance(value, str) and re.fullmatch(r"\d{4}-W\d{2}", value):
        return value
    if kind == "moment":
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value).isoformat(timespec="minutes")
            except ValueError:
                pass
    if kind == "weights" and isinstance(value, dict):
        return _weights(value, key, problems)
    expected = {
        "int": "un nombre entier",
        "number": "un nombre",
        "text": "un texte",
        "choice": "l'une des valeurs " + ", ".join(option.choices),
        "week": "une semaine ISO AAAA-Wnn (ex. 2026-W49)",
        "moment": "une date et heure AAAA-MM-JJTHH:MM",
        "weights": "des poids par groupe (need, coverage, access, mobility)",
    }[kind]
    problems.append(f"{key} : attendu {expected}, reçu {value!r}")
    return option.default


def _weights(value: Mapping[Any, Any], key: str, problems: list[str]) -> dict[str, float] | None:
    groups = ("need", "coverage", "access", "mobility")
    weights: dict[str, float] = {}
    for name, weight in value.items():
        if name not in groups:
            problems.append(f"{key}.{name} : groupe inconnu (attendu : {', '.join(groups)})")
        elif isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            problems.append(f"{key}.{name} : attendu un nombre positif ou nul, reçu {weight!r}")
        else:
            weights[name] = float(weight)
    return {name: weights.get(name, 1.0) for name in groups}


def _check_workspace(
    path: Path, values: dict[str, Any], problems: list[str], settings: Settings
) -> None:
    """The workspace opens, and names its territories and quarters (checked with the rest)."""
    from territory._errors import TerritoryError
    from territory.store import Workspace
    from territory.territories import list_territories
    from territory.views import breakdown_choices

    shown = values["workspace"]
    if not path.is_file():
        problems.append(f"workspace : espace de travail introuvable ({shown})")
        return
    try:
        ws = Workspace.open(path)
        defined = {t.name for t in list_territories(ws)}
        quarters = breakdown_choices(ws, settings=settings)["periode"] if values["period"] else []
    except TerritoryError as exc:
        problems.append(f"workspace : {exc}")
        return
    known = ", ".join(sorted(defined)) or "aucun"
    problems.extend(
        f"territories : territoire inconnu « {name} » (définis : {known})"
        for name in values["territories"]
        if name not in defined
    )
    if values["period"] and values["period"] not in quarters:
        shown_quarters = ", ".join(quarters) or "aucun"
        problems.append(
            f"period : trimestre {values['period']} non publié (publiés : {shown_quarters})"
        )


# ------------------------------------------------------------------------------ running


def run_file(path: str | Path, *, settings: Settings | None = None) -> RunReport:
    """:func:`load_parameters`, then :func:`run` (what ``territory run FILE`` does)."""
    return run(load_parameters(path, settings=settings), settings=settings)


def run(parameters: RunParameters, *, settings: Settings | None = None) -> RunReport:
    """Write every output of ``parameters`` and ``run.json`` into its output folder.

    The files are written in a temporary folder beside the output folder and moved in
    only when all are done: a failed run leaves the folder as it was.

    Parameters
    ----------
    parameters
        From :func:`load_parameters`.
    settings
        The settings in force (default: :meth:`Settings.from_env
        <territory.settings.Settings.from_env>`); their ``k`` and rounding are recorded.

    Returns
    -------
    RunReport
    """
    from territory import api

    ws = api.open_workspace(parameters.workspace, settings=settings)
    values = parameters.values
    store = ws._store()
    layers = _input_layers(ws)
    day = date.fromisoformat(values["date"]) if values["date"] else _last_change(layers)
    hashed = {
        **values,
        "protection": {"k": ws.settings.k, "rounding": ws.settings.rounding},
        "software": f"territory {__version__}",
    }
    digest = _sha256(_canonical(hashed).encode())
    scopes: list[str | None] = list(values["territories"]) or [None]
    out = parameters.output_dir
    out.parent.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=".territory-run-", dir=out.parent) as work:
        folder = Path(work)
        for name, options in values["outputs"].items():
            writer = _WRITERS[name]
            per_scope = name not in ("package", "plan")
            for scope in scopes if per_scope else [None]:
                for written in writer(ws, folder, scope, options, values, day):
                    path, extra = written if isinstance(written, tuple) else (written, {})
                    entries.append(
                        {
                            "file": path.name,
                            "output": name,
                            "territory": scope or "",
                            "sha256": _sha256(path.read_bytes()),
                            "bytes": path.stat().st_size,
                            "reproducible": True,
                            **extra,
                        }
                    )
        manifest = {
            "software": f"territory {__version__}",
            "parameters": hashed,
            "parameters_hash": digest,
            "date": day.isoformat(),
            "protection": {
                "k": ws.settings.k,
                "rounding": ws.settings.rounding,
                "method": "seuil de k personnes, regroupement 200 m → 1 km → commune, "
                "secret secondaire, perturbation par clés d'enregistrement, arrondi",
            },
            "workspace": {"name": ws.name, "version": store.version, "layers": layers},
            "outputs": entries,
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        (folder / MANIFEST).write_text(text, encoding="utf-8")
        files = [*(folder / e["file"] for e in entries), folder / MANIFEST]
        out.mkdir(exist_ok=True)  # only now: a failed run creates no folder either
        moved = []
        for path in files:
            target = out / path.name
            shutil.move(path, target)
            moved.append(target)
    return RunReport(output_dir=out, files=tuple(moved), manifest=manifest)


def _input_layers(ws: Opened) -> dict[str, dict[str, Any]]:
    """The workspace's layers (contacts only as the protected density): source, vintage…."""
    from territory.views import info

    found = info(ws._store(), settings=ws.settings)["layers"]
    keep = ("source", "vintage", "licence", "count", "crs", "updated")
    return {name: {k: found[name][k] for k in keep} for name in sorted(found)}


def _last_change(layers: Mapping[str, Mapping[str, Any]]) -> date:
    """The day of the workspace's last change (the default date of a run)."""
    days = [str(meta["updated"])[:10] for meta in layers.values() if meta.get("updated")]
    return date.fromisoformat(max(days)) if days else date(2000, 1, 1)


Written = list[Path] | list[tuple[Path, dict[str, Any]]]
"""The files a writer wrote, each with what its ``run.json`` entry adds (or overrides)."""
Writer = Callable[["Opened", Path, "str | None", dict[str, Any], dict[str, Any], date], Written]


def _name(stem: str, scope: str | None, suffix: str) -> str:
    if scope is None:
        return f"{stem}{suffix}"
    ascii_name = unicodedata.normalize("NFKD", scope).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "territoire"
    return f"{stem}-{slug}{suffix}"


def _geojson(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """A layer as GeoJSON (RFC 7946, EPSG:4326) through GDAL: no date, the same bytes."""
    import pyogrio

    frame = frame.to_crs("EPSG:4326") if frame.crs is not None else frame
    for column in frame.columns:
        if (
            column != frame.geometry.name
            and frame[column].map(type).isin((list, dict, tuple)).any()
        ):
            frame = frame.assign(**{column: frame[column].map(_json_cell)})
    pyogrio.write_dataframe(
        frame.reset_index(drop=frame.index.name is None or frame.index.name in frame.columns),
        path,
        driver="GeoJSON",
        layer=path.stem,
        layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"},
    )
    return path


def _json_cell(value: object) -> object:
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _moment(options: Mapping[str, Any], ws: Opened, day: date) -> datetime:
    from territory.analysis.priority import default_moment

    if options.get("at"):
        return datetime.fromisoformat(options["at"])
    return default_moment(ws._store(), today=day)


def _package(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
             values: dict[str, Any], day: date) -> list[Path]:  # fmt: skip
    from territory import api

    out = folder / f"evaluation.{options['format']}"
    report = api.export_package(
        ws, out=out, crs=options["crs"], territories=values["territories"] or None, day=day
    )
    return list(report.files)


def _density(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
             values: dict[str, Any], day: date) -> list[Path]:  # fmt: skip
    from territory import api

    frame = api.density(ws, territory=scope, period=values["period"])
    return [_geojson(frame, folder / _name("density", scope, ".geojson"))]


def _indicators(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
                values: dict[str, Any], day: date) -> list[Path]:  # fmt: skip
    from territory import api

    frame = api.indicators(
        ws, zones=options["zones"], territory=scope, at=_moment(options, ws, day)
    )
    return [_geojson(frame, folder / _name(f"indicators-{options['zones']}", scope, ".geojson"))]


def _ranking(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
             values: dict[str, Any], day: date) -> list[Path]:  # fmt: skip
    from territory import api

    frame = api.ranking(
        ws,
        zones=options["zones"],
        territory=scope,
        weights=options["weights"],
        at=_moment(options, ws, day),
    )
    return [_geojson(frame, folder / _name("ranking", scope, ".geojson"))]


def _hot_spots(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
               values: dict[str, Any], day: date) -> list[Path]:  # fmt: skip
    from territory import api

    found = api.hot_spots(ws, territory=scope, period=values["period"], **options)
    frame = found.frame
    frame.attrs = {}
    return [_geojson(frame, folder / _name("hot-spots", scope, ".geojson"))]


def _accessibility(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
                   values: dict[str, Any], day: date) -> list[Path]:  # fmt: skip
    from territory import api

    frame = api.accessibility(ws, territory=scope, **options)
    frame.attrs = {}
    return [_geojson(frame, folder / _name("accessibility", scope, ".geojson"))]


def _plan(ws: Opened, folder: Path, scope: str | None, options: dict[str, Any],
          values: dict[str, Any], day: date) -> Written:  # fmt: skip
    import dataclasses

    import ortools

    from territory import api

    territories = values["territories"]
    plan, _ = api.plan_week(
        ws,
        week=options["week"],
        territory=territories[0] if territories else None,
        time_limit=options["max_seconds"],
        solution_limit=options["solutions"],
    )
    stopped_by = str(plan.stats.get("stopped_by", "temps"))
    content = {
        "week": options["week"],
        "objective": round(plan.objective, 3),
        "visits": [dataclasses.asdict(v) for v in plan.visits],
        "notes": list(plan.notes),
    }
    path = folder / f"plan-{options['week']}.json"
    text = json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    search = {
        "solutions": options["solutions"],
        "max_seconds": options["max_seconds"],
        "stopped_by": stopped_by,
        "ortools": ortools.__version__,
    }
    return [(path, {"reproducible": stopped_by == "solutions", "search": search})]


_WRITERS: dict[str, Writer] = {
    "package": _package,
    "density": _density,
    "indicators": _indicators,
    "ranking": _ranking,
    "hot_spots": _hot_spots,
    "accessibility": _accessibility,
    "plan": _plan,
}


def _canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
