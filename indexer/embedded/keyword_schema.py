"""The tantivy keyword index's schema, and how a row of the SQLite journal becomes its document.

Text reaches tantivy already analysed, exactly as Elasticsearch receives it
(`indexer.elasticsearch.mapping.analysable`: diacritics folded, every ideograph a word of its
own, punctuation a space) and lower-cased; tantivy only splits it at spaces. The words,
stems and name parts are assetlens.searchtext's, so both backends match the same documents.
"""

# SQL here is assembled only from fixed column/table names; every value is a bound
# parameter, so S608 (string-built SQL) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tantivy

from assetlens.query import COST_MISSING_ASCENDING, COST_MISSING_DESCENDING
from assetlens.searchtext import FIELD_WEIGHTS
from indexer.elasticsearch.mapping import analysable

# Bumped whenever the schema or the analysis changes: an index of another version is rebuilt
# from SQLite on first use.
KEYWORD_SCHEMA_VERSION = 1
TOKENIZER = "assetlens_words"
# assetlens.searchtext's texts → tantivy field names (`tags` is the facet field).
TEXT_FIELDS: dict[str, str] = {name: f"text_{name}" for name in FIELD_WEIGHTS}
# Keyword fields: indexed whole (filters), columnar (facets, sorting).
KEYWORDS = (
    "workspace", "id", "type", "status", "source", "folder_id", "provider", "generator",
    "sampler", "ai_generated", "favorite", "created_month", "size_bucket", "cost_bucket",
    "name_sort",
)  # fmt: skip
MULTI_KEYWORDS = ("tags", "loras", "models")
INTEGERS = ("created_at", "updated_at", "size_bytes")
# `cost` filters (absent without a cost); the two sort fields carry the value an asset without
# a cost sorts as in each direction (the SQLite engine's COALESCE).
COST = "cost"
COST_ASC = "cost_asc"
COST_DESC = "cost_desc"
ROWID = "rowid"
KEY = "key"


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(KEY, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field(ROWID, fast=True)
    for name in (*KEYWORDS, *MULTI_KEYWORDS):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    for name in INTEGERS:
        builder.add_integer_field(name, indexed=True, fast=True)
    builder.add_float_field(COST, indexed=True, fast=True)
    builder.add_float_field(COST_ASC, fast=True)
    builder.add_float_field(COST_DESC, fast=True)
    for name in TEXT_FIELDS.values():
        builder.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
    return builder.build()


SCHEMA = build_schema()


def register_analysis(index: tantivy.Index) -> None:
    """The analyser text fields use (registered on every opened Index: it is not persisted)."""
    index.register_tokenizer(
        TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )


def words(text: str | None) -> str:
    """Text as the keyword index stores and queries it: analysed as for Elasticsearch, and
    lower-cased (its `lowercase` filter)."""
    return analysable(text).lower()


def doc_key(workspace: str, asset_id: str) -> str:
    """The unique key a document is replaced and deleted by."""
    return f"{workspace}\x1f{asset_id}"


# The journal's columns one document is made of; the FTS columns hold the searchtext texts.
_SELECT = (
    "SELECT a.rowid, a.workspace, a.id, a.type, a.status, a.source, a.folder_id, a.provider, "
    "a.generator, a.sampler, a.ai_generated, a.favorite, a.created_month, a.size_bucket, "
    "a.cost_bucket, a.name_sort, a.created_at, a.updated_at, a.size_bytes, a.cost, "
    "(SELECT json_group_array(tag) FROM asset_tags WHERE asset_rowid = a.rowid), "
    "(SELECT json_group_array(lora) FROM asset_loras WHERE asset_rowid = a.rowid), "
    "(SELECT json_group_array(model) FROM asset_models WHERE asset_rowid = a.rowid), "
    + ", ".join(f"f.{name}" for name in TEXT_FIELDS)
    + " FROM assets a JOIN assets_fts f ON f.rowid = a.rowid"
)
_NUMERIC_AT = 16  # index of created_at in _SELECT


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One asset as read from SQLite, ready to become a tantivy document."""

    values: tuple[Any, ...]

    @property
    def key(self) -> str:
        return doc_key(str(self.values[1]), str(self.values[2]))

    def document(self) -> tantivy.Document:
        v = self.values
        doc = tantivy.Document()
        doc.add_text(KEY, self.key)
        doc.add_unsigned(ROWID, int(v[0]))
        for name, value in zip(KEYWORDS, v[1:_NUMERIC_AT], strict=True):
            if value is None:
                continue
            if name in ("ai_generated", "favorite"):
                value = "true" if value else "false"
            doc.add_text(name, str(value))
        for name, value in zip(INTEGERS, v[_NUMERIC_AT : _NUMERIC_AT + 3], strict=True):
            doc.add_integer(name, int(value))
        cost = v[_NUMERIC_AT + 3]
        if cost is not None:
            doc.add_float(COST, float(cost))
        doc.add_float(COST_ASC, COST_MISSING_ASCENDING if cost is None else float(cost))
        doc.add_float(COST_DESC, COST_MISSING_DESCENDING if cost is None else float(cost))
        for name, value in zip(MULTI_KEYWORDS, v[_NUMERIC_AT + 4 : _NUMERIC_AT + 7], strict=True):
            for item in json.loads(str(value)) if value else []:
                doc.add_text(name, str(item))
        for name, value in zip(TEXT_FIELDS.values(), v[_NUMERIC_AT + 7 :], strict=True):
            text = words(str(value) if value else "")
            if text:
                doc.add_text(name, text)
        return doc


def changed_rows(conn: sqlite3.Connection, since: int, batch: int = 1000) -> Iterator[JournalRow]:
    """Every asset written after seq `since` (all of them for 0), in rowid order."""
    cursor = conn.execute(f"{_SELECT} WHERE a.seq > ? ORDER BY a.rowid", (since,))
    while rows := cursor.fetchmany(batch):
        for row in rows:
            yield JournalRow(tuple(row))
