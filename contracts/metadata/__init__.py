"""Table metadata: the raw warehouse tables and the EES tables as data (``raw_tables.yaml``).

Like catalyst-cooperative/pudl's metadata package, table definitions are data and every copy is
derived from them: the DDL pipeline/warehouse.py runs, dbt's ``_sources.yml``, the ``stg_ees_*`` and
``int_ees_values`` models, the docs tables (all written by ``contracts.generate``), and the pandera
contracts of the parsed workbook tables (built here at import by ``contracts.schemas``).

The EES measure lists come from the indicator catalogue: a DfE-held data item's ``column`` is a
measure of its dataset, so a new EES measure is one catalogue entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from contracts.yaml_file import read_yaml

from contracts.catalogue import QUARTERS, Catalogue, load

METADATA_PATH = Path(__file__).with_name("raw_tables.yaml")
CELL_RE = r"^[A-Z]{1,3}[1-9][0-9]*$"
PATTERNS = {"cell": CELL_RE}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str | None = None
    tests: tuple = ()
    parsed: dict | None = None  # the pandera column of the parsed table (None: a tag column)


@dataclass(frozen=True)
class Table:
    name: str
    doc: str | None
    columns: tuple[Column, ...]
    parsed: dict | None = None  # {table: values, unique: [...]}: the parsed table this one stores
    key: tuple[str, ...] = ()  # dbt's primary_key test: no NULL in these columns, no two rows alike

    @property
    def types(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}


@dataclass(frozen=True)
class EesDataset:
    name: str
    doc: str
    measures: tuple[str, ...]        # typed by dbt and unpivoted by int_ees_values
    rates: tuple[str, ...]           # published rates the contract requires (as text)
    published_extra: tuple[str, ...]  # created up front, never required

    @property
    def contract_measures(self) -> tuple[str, ...]:
        return self.measures + self.rates


@lru_cache(maxsize=1)
def _raw() -> dict:
    return read_yaml(METADATA_PATH)


@lru_cache(maxsize=1)
def raw_tables() -> dict[str, Table]:
    """Every raw table, in the file's order."""
    out = {}
    for t in _raw()["tables"]:
        cols = tuple(Column(name=c["name"], type=c["type"], doc=c.get("doc"), tests=tuple(c.get("tests", ())),
                            parsed=c.get("parsed")) for c in t["columns"])
        out[t["name"]] = Table(name=t["name"], doc=(t.get("doc") or "").strip() or None, columns=cols,
                               parsed=t.get("parsed"), key=tuple(t.get("key", ())))
        assert set(out[t["name"]].key) <= {c.name for c in cols}, f"raw.{t['name']}: key names an unknown column"
    return out


def raw_columns() -> dict[str, dict[str, str]]:
    """{table: {column: DuckDB type}} for every raw table but the EES ones."""
    return {name: t.types for name, t in raw_tables().items()}


def ees_common() -> dict:
    e = _raw()["ees"]
    return {"geo": tuple(e["geo_columns"]), "breakdown": tuple(e["breakdown_columns"]), "load": dict(e["load_columns"])}


def ees_datasets(cat: Catalogue | None = None) -> dict[str, EesDataset]:
    """The EES datasets with their measures: those listed here plus every column a DfE-held data
    item of the catalogue reads (in catalogue order), so the catalogue alone adds a measure."""
    cat = cat or load()
    out = {}
    for name, d in _raw()["ees"]["datasets"].items():
        measures = list(d["measures"])
        measures += [i.column for i in cat.dfe_held_items if i.dataset == name and i.column not in measures]
        out[name] = EesDataset(name=name, doc=d["doc"], measures=tuple(dict.fromkeys(measures)),
                               rates=tuple(d.get("rates", ())), published_extra=tuple(d.get("published_extra", ())))
    unknown = {i.dataset for i in cat.dfe_held_items} - set(out)
    assert not unknown, f"catalogue names EES datasets with no table in raw_tables.yaml: {sorted(unknown)}"
    return out


def ees_table_columns(dataset: EesDataset) -> dict[str, str]:
    """Columns raw.ees_<dataset> is created with (all text as published, then the load columns)."""
    c = ees_common()
    cols = c["geo"] + c["breakdown"] + dataset.contract_measures + dataset.published_extra
    return {k: "VARCHAR" for k in dict.fromkeys(cols)} | c["load"]


def named_list(name: str, cat: Catalogue | None = None) -> list:
    """The lists raw_tables.yaml names in `parsed: {isin: ...}`, resolved from the catalogue."""
    cat = cat or load()
    if name.startswith("plan."):
        return list(getattr(cat.plan, name.split(".", 1)[1]))
    return {
        "return_item_ids": lambda: [i.id for i in cat.return_items],
        "indicator_ids": lambda: [i.id for i in cat.indicators],
        "quarters": lambda: list(QUARTERS),
        "target_periods": lambda: list(cat.target_periods),
        "building_block_titles": lambda: [b["title"] for b in cat.building_blocks],
    }[name]()


def named_number(value, cat: Catalogue | None = None):
    """A bound given as a number or as `plan.<setting>`."""
    if isinstance(value, str) and value.startswith("plan."):
        return getattr((cat or load()).plan, value.split(".", 1)[1])
    return value


def parsed_tables() -> dict[str, Table]:
    """{parsed table name: raw table} for the raw tables that store a parsed workbook table."""
    return {t.parsed["table"]: t for t in raw_tables().values() if t.parsed}


DDL_PATH = Path(__file__).with_name("raw_tables.sql")  # generated by contracts.generate
