"""Lineage: which assets an asset was made from (ancestors) and which were made from it
(derivatives), within one workspace.

Edges are the parent ids in `Asset.lineage` (the client's `source_asset_id`, a workflow's
input image, a C2PA ingredient). Derivatives are found through child markers
(`layout.lineage_child_key`) written whenever a manifest gains a parent; a marker is only a
hint — the child's manifest must still name the parent — so a stale one is harmless.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from assetlens import layout
from assetlens.domain import Asset, AssetStatus, Generation
from assetlens.errors import NotFound, Unavailable
from assetlens.manifests import Manifests
from assetlens.ports import ObjectStore, SearchIndex
from assetlens.query import SearchQuery

DEFAULT_DEPTH = 3
MAX_DEPTH = 10
# Each direction lists at most this many assets: a popular source image must not turn one
# request into an unbounded walk.
MAX_NODES = 500
# The client's `source_asset_id`; also what a parent without a recorded relation counts as.
SOURCE_RELATION = "source"
INPUT = "input"
INGREDIENT = "ingredient"
MAX_NAMED_INPUTS = 16
MATCH_CANDIDATES = 50

# One step of a walk: the assets next to one asset, with the relation joining them.
Step = Callable[[str, Asset], Iterator[tuple[Asset, str]]]


@dataclass(frozen=True, slots=True)
class Relative:
    """An asset `depth` steps away, joined through `via` (the asset one step nearer) by
    `relation` (source, input, ingredient)."""

    asset: Asset
    depth: int
    relation: str
    via: str


@dataclass(frozen=True, slots=True)
class Lineage:
    asset_id: str
    depth: int
    ancestors: list[Relative]
    derivatives: list[Relative]


class LineageService:
    def __init__(self, store: ObjectStore, manifests: Manifests) -> None:
        self._store = store
        self._manifests = manifests

    # -- markers ----------------------------------------------------------------------------

    def link(self, workspace: str, child_id: str, parents: Iterable[str]) -> None:
        """Record `child_id` as a derivative of each of `parents` (before its manifest
        names them, so a derivative is never missing from the reverse lookup)."""
        for parent in parents:
            if parent != child_id:
                self._store.put_bytes(layout.lineage_child_key(workspace, parent, child_id), b"")

    def named_inputs(
        self, workspace: str, child_id: str, generation: Generation, index: SearchIndex
    ) -> dict[str, str]:
        """Parents a file names itself — its workflow's input images ("input") and its C2PA
        ingredients ("ingredient") — matched to assets of `workspace` by exact name (or
        sha256), only where exactly one live asset matches. Parent id → relation."""
        named = [(name, INPUT) for name in generation.input_images]
        if generation.c2pa is not None:
            named += [(name, INGREDIENT) for name in generation.c2pa.ingredients]
        found: dict[str, str] = {}
        for name, relation in named[:MAX_NAMED_INPUTS]:
            parent = self._match(workspace, name, index)
            if parent is not None and parent != child_id:
                found.setdefault(parent, relation)
        return found

    def _match(self, workspace: str, name: str, index: SearchIndex) -> str | None:
        if layout.is_sha256(name.lower()):
            prefix = layout.sha_member_prefix(workspace, name.lower())
            candidates = {key.rsplit("/", 1)[1] for key in self._store.list_keys(prefix)}
        else:
            base = name.replace("\\", "/").rsplit("/", 1)[-1]
            try:
                page = index.search(
                    SearchQuery(workspace=workspace, text=base[:200], limit=MATCH_CANDIDATES)
                )
            except Unavailable:
                return None  # matched on the next processing, or never: lineage is a hint
            candidates = {hit.asset.id for hit in page.hits if hit.asset.name == base}
        live = [
            asset_id
            for asset_id in sorted(candidates)
            if self._live(workspace, asset_id) is not None
        ]
        return live[0] if len(live) == 1 else None

    def unlink(self, workspace: str, child_id: str, parents: Iterable[str]) -> None:
        """Forget markers of parents the child no longer names (after its manifest)."""
        for parent in parents:
            with contextlib.suppress(NotFound):
                self._store.delete(layout.lineage_child_key(workspace, parent, child_id))

    # -- the graph --------------------------------------------------------------------------

    def lineage(self, workspace: str, asset_id: str, depth: int = DEFAULT_DEPTH) -> Lineage:
        """Ancestors and derivatives up to `depth` steps, breadth first, each asset once at
        its shortest distance (cycles, which edits can make, end there). Trashed assets are
        left out, and so is what lies only beyond them."""
        root, _ = self._manifests.get(workspace, asset_id)
        depth = max(1, min(depth, MAX_DEPTH))
        return Lineage(
            asset_id=asset_id,
            depth=depth,
            ancestors=self._walk(workspace, root, depth, self._parents),
            derivatives=self._walk(workspace, root, depth, self._children),
        )

    def _walk(self, workspace: str, root: Asset, depth: int, step: Step) -> list[Relative]:
        seen = {root.id}
        found: list[Relative] = []
        frontier = [root]
        for level in range(1, depth + 1):
            following: list[Asset] = []
            for node in frontier:
                for other, relation in step(workspace, node):
                    if other.id in seen:
                        continue
                    seen.add(other.id)
                    found.append(Relative(other, level, relation, node.id))
                    following.append(other)
                    if len(found) >= MAX_NODES:
                        return found
            frontier = following
            if not frontier:
                break
        return found

    def _parents(self, workspace: str, child: Asset) -> Iterator[tuple[Asset, str]]:
        for parent_id in child.lineage:
            parent = self._live(workspace, parent_id)
            if parent is not None:
                yield parent, child.lineage_relations.get(parent_id, SOURCE_RELATION)

    def _children(self, workspace: str, parent: Asset) -> Iterator[tuple[Asset, str]]:
        keys = self._store.list_keys(layout.lineage_child_prefix(workspace, parent.id))
        for key in itertools.islice(keys, MAX_NODES):
            child = self._live(workspace, key.rsplit("/", 1)[1])
            if child is not None and parent.id in child.lineage:
                yield child, child.lineage_relations.get(parent.id, SOURCE_RELATION)

    def _live(self, workspace: str, asset_id: str) -> Asset | None:
        try:
            asset, _ = self._manifests.get(workspace, asset_id)
        except NotFound:
            return None
        return None if asset.status is AssetStatus.DELETED else asset


def relink_source(asset: Asset, previous: str | None) -> None:
    """Make `asset.lineage` follow its (possibly changed) `generation.source_asset_id`;
    parents found another way (a workflow's input, a C2PA ingredient) stay."""
    current = asset.generation.source_asset_id
    if previous == current:
        return
    if previous and asset.lineage_relations.get(previous, SOURCE_RELATION) == SOURCE_RELATION:
        asset.lineage = [parent for parent in asset.lineage if parent != previous]
        asset.lineage_relations.pop(previous, None)
    if current and current not in asset.lineage:
        asset.lineage.append(current)
        asset.lineage_relations[current] = SOURCE_RELATION
