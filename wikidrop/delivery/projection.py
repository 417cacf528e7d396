"""What a partner receives of each record: the selected fields (dotted paths into structs and lists
of structs) and the filters (namespaces, minimum text length, disambiguation pages).

A batch's records carry ``event`` and are filtered as ``wikidrop.delivery.batches`` says (tombstones
pass every content filter; an update the content filters leave out becomes a tombstone).

Selected fields are checked against the staged records' Arrow schema, and the projected record keeps
the schema's field order, so every format writes its fields in one order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wikidrop.delivery.batches import (
    CONTENT_FILTERS,
    EVENT,
    UPDATE,
    check_batch_schema,
    event_type,
    is_tombstone,
)
from wikidrop.delivery.errors import DeliveryError
from wikidrop.layout import BATCH, SNAPSHOT, DropKind
from wikidrop.records import page_props_source

if TYPE_CHECKING:
    from wikidrop.config import PartnerConfig

FieldTree = dict[str, "FieldTree | None"]  # selected sub-fields; None = the whole field


@dataclass(frozen=True)
class RecordShape:
    """Which columns are read, which records pass the partner's filters, what each format carries."""

    partner: PartnerConfig
    namespaces: frozenset[int]
    fields: FieldTree
    read_columns: tuple[str, ...]
    staged_schema: Any  # the Arrow schema of the staged articles
    # the page_props table behind main_entity, is_disambiguation, description and image (None: null)
    page_props_source: str | None = None
    kind: DropKind = SNAPSHOT

    @classmethod
    def build(
        cls, partner: PartnerConfig, namespaces: Iterable[int], schema: Any, kind: DropKind = SNAPSHOT
    ) -> RecordShape:
        check_batch_schema(schema, kind.name, partner.id)
        names = list(schema.names)
        fields: FieldTree = {}
        for path in partner.fields if partner.fields is not None else names:
            _select(fields, path.split("."), schema, path, partner.id)
        # delivered whatever the selection: order, first/last ids and tombstones are keyed on the page
        # id, and a batch's records say what happened to the page that day
        fields["identifier"] = None
        if kind == BATCH:
            fields[EVENT] = None
        needed = {"identifier", "namespace", *fields}
        if partner.filters.min_text_length:
            needed.add("text")
        page_props = page_props_source(schema)
        if partner.filters.exclude_disambiguation:
            # A filter that cannot act fails the drop instead of delivering what it should remove.
            if page_props is None:
                raise DeliveryError(
                    f"partner {partner.id!r}: exclude_disambiguation cannot act: the parse read no "
                    "page_props table (stats.json page_props is null: the dump's pagepropstable job "
                    "was not done, or the edition has page_props: false), so no record says whether "
                    "it is a disambiguation page"
                )
            needed.add("is_disambiguation")
        missing = sorted(needed - set(names))
        if missing:
            raise DeliveryError(f"partner {partner.id!r}: the staged articles lack columns {missing}")
        return cls(
            partner=partner,
            namespaces=frozenset(namespaces),
            fields={n: fields[n] for n in names if n in fields},
            read_columns=tuple(n for n in names if n in needed),
            staged_schema=schema,
            page_props_source=page_props,
            kind=kind,
        )

    @property
    def filter_columns(self) -> tuple[str, ...]:
        """The columns ``exclusion`` and the (namespace, page id) order need: what a pass over the
        staged shards reads to plan chunks without reading whole records."""
        needed = {"identifier", "namespace"}
        if self.kind == BATCH:
            needed.add(EVENT)
        if self.partner.filters.min_text_length:
            needed.add("text")
        if self.partner.filters.exclude_disambiguation:
            needed.add("is_disambiguation")
        return tuple(name for name in self.read_columns if name in needed)

    def exclusion(self, record: Mapping[str, Any]) -> str | None:
        """Why the partner's filters leave this record out (a filter name), or None to deliver it."""
        filters = self.partner.filters
        if record["namespace"]["identifier"] not in self.namespaces:
            return "namespaces"
        if is_tombstone(record):
            return None
        if filters.min_text_length and len(record.get("text") or "") < filters.min_text_length:
            return "min_text_length"
        if filters.exclude_disambiguation and record.get("is_disambiguation"):
            return "exclude_disambiguation"
        return None

    def withdraws(self, record: Mapping[str, Any], reason: str) -> bool:
        """Whether a record the filters leave out (for ``reason``) goes out as a tombstone instead: an
        update in a batch that a content filter now refuses (the partner may hold its earlier version)."""
        return self.kind == BATCH and reason in CONTENT_FILTERS and event_type(record) == UPDATE

    def project(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The selected fields of a record (sub-fields inside structs and lists of structs), schema order.

        ``provenance.source_file`` is the path the parse read (a staging URI in production): partners
        get the dump file's own name, which the manifest lists with its public URL and checksums.
        """
        projected = {k: _project_value(record[k], sub) for k, sub in self.fields.items()}
        provenance = projected.get("provenance")
        if provenance and provenance.get("source_file"):
            name = provenance["source_file"].rstrip("/").rpartition("/")[2]
            projected["provenance"] = {**provenance, "source_file": name}
        return projected

    def arrow_schema(self) -> Any:
        """The staged records' schema cut down to the selected fields (metadata kept)."""
        import pyarrow as pa

        schema = self.staged_schema
        return pa.schema(
            [
                f.with_type(_project_type(f.type, self.fields[f.name]))
                for f in schema
                if f.name in self.fields
            ],
            metadata=schema.metadata,
        )

    def field_paths(self) -> list[str]:
        """The delivered fields as dotted paths, schema order (what the manifest lists)."""
        return _field_paths(self.fields)


def field_children(schema: Any) -> dict[str, tuple[str, ...]]:
    """Every selectable field path with sub-fields -> their names (``""``: the record), schema order.

    ``{"": ("name", ..., "version", ...), "version": (..., "editor", ...), "version.editor": (...)}``;
    lists of structs select into their items (``sections.name``).
    """
    out: dict[str, tuple[str, ...]] = {}

    def walk(path: str, arrow_type: Any) -> None:
        children = _children(arrow_type)
        if children is None:
            return
        out[path] = tuple(children)
        for name, child_type in children.items():
            walk(f"{path}.{name}" if path else name, child_type)

    walk("", schema)
    return out


def _children(arrow_type: Any) -> dict[str, Any] | None:
    """Sub-field types of a schema, struct or list of structs; None for a leaf."""
    import pyarrow as pa

    if isinstance(arrow_type, pa.Schema):
        return {f.name: f.type for f in arrow_type}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _children(arrow_type.value_type)
    if pa.types.is_struct(arrow_type):
        return {f.name: f.type for f in arrow_type.fields}
    return None


def _select(tree: FieldTree, parts: list[str], arrow_type: Any, path: str, partner_id: str) -> None:
    """Add the dotted ``path`` to ``tree``, checked against the schema."""
    children = _children(arrow_type) or {}
    name, rest = parts[0], parts[1:]
    if name not in children:
        where = path[: -len(".".join(parts))].rstrip(".") or "the article record"
        raise DeliveryError(
            f"partner {partner_id!r}: field {path!r}: {where} has no {name!r} (it has {', '.join(children)})"
        )
    if not rest:
        tree[name] = None
    elif tree.get(name, {}) is not None:  # not already selected whole
        _select(tree.setdefault(name, {}), rest, children[name], path, partner_id)


def _project_value(value: Any, tree: FieldTree | None) -> Any:
    if tree is None or value is None:
        return value
    if isinstance(value, list):
        return [_project_value(v, tree) for v in value]
    return {k: _project_value(v, tree[k]) for k, v in value.items() if k in tree}


def _project_type(arrow_type: Any, tree: FieldTree | None) -> Any:
    import pyarrow as pa

    if tree is None:
        return arrow_type
    if pa.types.is_list(arrow_type):
        return pa.list_(_project_type(arrow_type.value_type, tree))
    return pa.struct(
        [f.with_type(_project_type(f.type, tree[f.name])) for f in arrow_type.fields if f.name in tree]
    )


def _field_paths(tree: FieldTree, parent: str = "") -> list[str]:
    """``{"version": {"sha1": None}, "name": None}`` -> ``["version.sha1", "name"]``."""
    paths = []
    for name, sub in tree.items():
        path = f"{parent}{name}"
        paths += [path] if sub is None else _field_paths(sub, f"{path}.")
    return paths
