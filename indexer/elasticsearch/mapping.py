"""The Elasticsearch index definition (settings + strict mapping) and how an IndexDoc
becomes a document.

Text is cut into words in Python, the same way `assetlens.textsplit.query_terms` cuts a
query, before Elasticsearch sees it: every run of letters/digits is a word, every
ideograph and hiragana character is a word of its own (`split_cjk`), everything else is a
space, and Latin diacritics are folded. The node has only the `standard` tokenizer and the
`lowercase` filter (no `asciifolding`, no `word_delimiter`), so doing this here is what makes
`snake_case`, `don't`, `café` and `一只猫` match exactly as they do in the embedded
(SQLite FTS5 unicode61) index.

Vectors live in one `dense_vector` field per dimension count (`vector_<dims>`), added with a
put-mapping the first time a vector of that size is written; the mapping stays strict. They are
sent base64-packed (big-endian float32, the client's `pack_dense_vector`: a quarter of the JSON
and no float formatting in Python) and kept out of the stored `_source`
(`index.mapping.exclude_source_vectors`): the float copy in the vector field is the only one,
and a read asks for it with `_source_exclude_vectors=false`.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from elasticsearch.helpers import pack_dense_vector

from assetlens.domain import Asset
from assetlens.filters import created_month, index_cost
from assetlens.normalize import tag_key
from assetlens.query import IndexDoc
from assetlens.searchtext import EXACT_FIELDS, FIELD_WEIGHTS, search_texts
from assetlens.textsplit import fold_diacritics, split_cjk

ANALYZER = "assetlens_text"
# Fields added since the first mapping, by the mapping version that added them. An index made
# by an older version gets them with a put-mapping (`ElasticsearchIndex.ensure`); documents
# written before then lack them, which the queries read as the default (favorite: false;
# no cost; no sha256, so such a document's blob is not in the storage stats until reindexed).
# 2: favorite; 3: cost (the generation cost, for filters, range facet, sort and sums) and
# sha256 (stats count each blob once); 4: `names` and `stems` (assetlens.searchtext: documents
# written before lack them, so they are found by their exact words only until reindexed).
# 5: models (every checkpoint an asset was made with, for the model facet and filter;
# `model`, the primary one, stays what cost stats group by). 6: created_month (the month
# facet counted as a keyword's terms: a date histogram over 500k hits cost 3–4× as much;
# until reindexed, documents without it make the facet fall back to the histogram,
# indexer.elasticsearch.translate.MISSING_MONTH).
MAPPING_VERSION = 6
ADDED_FIELDS: dict[str, dict[str, Any]] = {
    "favorite": {"type": "boolean"},
    "cost": {"type": "double"},
    "sha256": {"type": "keyword"},
    "names": {"type": "text", "analyzer": ANALYZER},
    "stems": {"type": "text", "analyzer": ANALYZER},
    "models": {"type": "keyword"},
    "created_month": {"type": "keyword"},
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Text fields and their boosts: assetlens.searchtext's texts and weights (the embedded index's
# bm25 column weights); `tags` is the keyword field, so the tags' words are `tags_text`.
_FIELD_NAMES = {"tags": "tags_text"}
TEXT_FIELDS: dict[str, float] = {_FIELD_NAMES.get(f, f): w for f, w in FIELD_WEIGHTS.items()}
EXACT_TEXT_FIELDS = tuple(_FIELD_NAMES.get(f, f) for f in EXACT_FIELDS)
KEYWORD_FIELDS = (
    "workspace", "id", "type", "status", "source", "folder_id", "model", "provider",
    "generator", "sampler", "loras", "tags", "vector_model",
)  # fmt: skip
# Generation parameters kept for ad-hoc filtering and aggregation (flattened: any key).
_PARAM_KEYS = (
    "seed", "steps", "cfg_scale", "scheduler", "model_hash", "vae", "job_id", "width",
    "height", "denoise", "cost", "source_asset_id",
)  # fmt: skip
# A name longer than this (in characters) is not sortable; display names are ≤255 bytes.
_NAME_SORT_MAX = 1024
VECTOR_PREFIX = "vector_"

# Characters that are never part of a word: everything but letters, digits and combining
# marks (the same definition as assetlens.textsplit's query terms; `_` separates words).
_NON_WORD = re.compile(r"(?:[^\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]|_)+")


# While a rebuild fills a new index nobody searches yet: no refreshes and a commit every
# 5 minutes instead of every minute (each writes a segment that merges then rewrite, HNSW
# graph included; the indexing buffer, 10% of the heap, still bounds a segment's size), no
# replica (copied once at the end instead of indexed twice), and the translog fsynced every
# 5 s instead of per bulk request (a crash loses only the unfinished index, which the
# rebuild deletes). `SERVING_SETTINGS` puts each back before the alias moves.
BULK_LOAD_SETTINGS: dict[str, Any] = {
    "refresh_interval": "-1",
    "translog.flush_threshold_age": "5m",
    "auto_expand_replicas": False,
    "number_of_replicas": 0,
    "translog.durability": "async",
}
SERVING_SETTINGS: dict[str, Any] = {
    "refresh_interval": None,
    "translog.flush_threshold_age": None,
    "auto_expand_replicas": "0-1",
    "translog.durability": None,
}


def index_settings(*, shards: int = 1, bulk_load: bool = False) -> dict[str, Any]:
    """Settings of a physical index. One replica wherever a second node exists (none on a
    single node, which stays green); `bulk_load` for an index a rebuild is about to fill."""
    settings: dict[str, Any] = {
        "number_of_shards": shards,
        "auto_expand_replicas": "0-1",
        # The 9.x default, made explicit: vectors are not stored twice (see the module doc).
        "mapping.exclude_source_vectors": True,
        "analysis": {
            "analyzer": {
                ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}
            }
        },
    }
    if bulk_load:
        settings.update(BULK_LOAD_SETTINGS)
    return settings


def mappings() -> dict[str, Any]:
    """The strict mapping of a physical index (vector fields are added per dimension)."""
    properties: dict[str, Any] = {name: {"type": "keyword"} for name in KEYWORD_FIELDS}
    properties.update({name: {"type": "text", "analyzer": ANALYZER} for name in TEXT_FIELDS})
    properties.update(
        {
            # The lowercased name, computed in Python exactly as the embedded index does.
            "name_sort": {"type": "keyword", "ignore_above": _NAME_SORT_MAX},
            "ai_generated": {"type": "boolean"},
            **ADDED_FIELDS,
            # Dates for the month histogram; microsecond longs for exact sorting, range
            # filters and cursors (a `date` keeps only milliseconds).
            "created_at": {"type": "date"},
            "updated_at": {"type": "date"},
            "created_us": {"type": "long"},
            "updated_us": {"type": "long"},
            "size_bytes": {"type": "long"},
            "revision": {"type": "long"},
            "params": {"type": "flattened"},
            # The whole asset, returned as is and never indexed.
            "asset": {"type": "object", "enabled": False},
        }
    )
    return {"dynamic": "strict", "_meta": {"version": MAPPING_VERSION}, "properties": properties}


def vector_field(dims: int) -> str:
    """The field holding vectors of `dims` dimensions."""
    return f"{VECTOR_PREFIX}{dims}"


def vector_dims(field: str) -> int | None:
    """The dimension count of a `vector_<dims>` field name; None for any other field
    (`vector_model` included)."""
    rest = field[len(VECTOR_PREFIX) :] if field.startswith(VECTOR_PREFIX) else ""
    return int(rest) if rest.isdigit() else None


def vector_mapping(dims: int) -> dict[str, Any]:
    """A dense_vector field for L2-normalised vectors. int8_hnsw is set explicitly because
    512 dimensions would otherwise default to bbq_hnsw (1-bit, much lower recall)."""
    return {
        "type": "dense_vector",
        "dims": dims,
        "index": True,
        "similarity": "dot_product",
        "index_options": {"type": "int8_hnsw"},
    }


def micros(value: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def analysable(text: str | None) -> str:
    """Text as sent to the analyser: diacritics folded, words separated by single spaces,
    each ideograph/hiragana character a word of its own."""
    if not text:
        return ""
    words = _NON_WORD.sub(" ", split_cjk(fold_diacritics(text)))
    return " ".join(words.split())


def doc_id(workspace: str, asset_id: str) -> str:
    """The document `_id`: asset ids are unique per workspace only (and never contain ':')."""
    return f"{workspace}:{asset_id}"


def _param_values(doc: IndexDoc) -> dict[str, str]:
    gen = doc.asset.generation
    values: dict[str, str] = {}
    for key in _PARAM_KEYS:
        value = getattr(gen, key)
        if value is not None and value != "":
            values[key] = str(value)
    return values


def document(doc: IndexDoc) -> dict[str, Any]:
    """The `_source` of an IndexDoc. The vector goes under `vector_<dims>` when it has a
    model; the full asset is kept under `asset` to be returned by searches."""
    asset = doc.asset
    gen = asset.generation
    texts = search_texts(asset)
    source: dict[str, Any] = {
        "workspace": asset.workspace,
        "id": asset.id,
        "type": asset.type.value,
        "status": asset.status.value,
        "source": asset.source.value,
        "folder_id": asset.folder_id,
        "model": gen.model,
        "models": sorted(set(gen.models)),
        "provider": gen.provider,
        "generator": gen.generator,
        "sampler": gen.sampler,
        "loras": sorted({lora.name for lora in gen.loras}),
        "tags": sorted({tag_key(t) for t in asset.tags} - {""}),
        "ai_generated": gen.ai_generated,
        "favorite": asset.favorite,
        "cost": index_cost(gen.cost),
        "sha256": asset.sha256,
        **{
            field: analysable(text) for field, text in zip(TEXT_FIELDS, texts.fields(), strict=True)
        },
        "name_sort": asset.name.lower(),
        "created_at": _iso(asset.created_at),
        "updated_at": _iso(asset.updated_at),
        "created_us": micros(asset.created_at),
        "created_month": created_month(asset.created_at),
        "updated_us": micros(asset.updated_at),
        "size_bytes": asset.size_bytes,
        "revision": asset.revision,
        "params": _param_values(doc),
        "asset": asset.model_dump(mode="json"),
    }
    if doc.vector is not None and doc.vector_model is not None:
        source["vector_model"] = doc.vector_model
        source[vector_field(len(doc.vector))] = pack_dense_vector(
            np.asarray(doc.vector, dtype=np.float32)
        )
    return source


def vector_of(source: dict[str, Any]) -> list[float] | None:
    """The vector in a document's `_source`: a list as Elasticsearch returns it (fetched with
    vectors included), or base64-packed as `document` writes it."""
    for key, value in source.items():
        if vector_dims(key) is None:
            continue
        if isinstance(value, list):
            return [float(x) for x in value]
        if isinstance(value, str):
            unpacked: list[float] = np.frombuffer(base64.b64decode(value), dtype=">f4").tolist()
            return unpacked
    return None


def index_doc(source: dict[str, Any]) -> IndexDoc:
    """The IndexDoc a stored document (`asset`, `vector_model` and the vector field) holds."""
    vector = vector_of(source)
    model = source.get("vector_model")
    return IndexDoc(
        asset=Asset.model_validate(source["asset"]),
        vector=vector if model else None,
        vector_model=model if vector is not None else None,
    )


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
