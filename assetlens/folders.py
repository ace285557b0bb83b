"""Folder trees: a workspace's folders are one JSON document in the object store, changed
by compare-and-swap, so unique names, cycle checks and the depth limit hold atomically even
when two moves race (the loser re-reads, re-validates and fails cleanly)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, Field

from assetlens import layout
from assetlens.documents import put_document
from assetlens.domain import new_id, utcnow
from assetlens.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
    StoreUnavailable,
)
from assetlens.normalize import folder_name, tag_key
from assetlens.ports import ObjectStore

ROOT = "root"
NO_FOLDER = "folder_id names no folder of this workspace"
# A CAS loop that keeps losing means heavy contention; 503 lets the client retry later.
MAX_CAS_ATTEMPTS = 50

T = TypeVar("T")


class FolderNode(BaseModel):
    """One folder as stored in the tree document."""

    id: str
    name: str
    parent_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FolderTree(BaseModel):
    """A workspace's whole folder tree, flat: id → node. Pure rules, no I/O."""

    version: int = 1
    folders: dict[str, FolderNode] = Field(default_factory=dict)

    # -- reading ----------------------------------------------------------------------------

    def node(self, folder_id: str) -> FolderNode:
        """The folder, or NotFound (also for anything that is not a folder id)."""
        found = self.folders.get(folder_id)
        if found is None:
            raise NotFound("folder not found")
        return found

    def children(self, parent_id: str | None) -> list[FolderNode]:
        """Direct subfolders of `parent_id` (None: the top level), by normalised name."""
        found = [n for n in self.folders.values() if n.parent_id == parent_id]
        return sorted(found, key=lambda n: (tag_key(n.name), n.id))

    def ancestors(self, folder_id: str) -> list[FolderNode]:
        """The folders above `folder_id`, top level first."""
        chain: list[FolderNode] = []
        current = self.node(folder_id).parent_id
        # Bounded by the folder count: a hand-edited document with a cycle cannot loop.
        while current is not None and len(chain) <= len(self.folders):
            parent = self.folders.get(current)
            if parent is None:
                break  # a dangling parent reads as the top level
            chain.append(parent)
            current = parent.parent_id
        chain.reverse()
        return chain

    def depth(self, folder_id: str) -> int:
        """0 for a top-level folder, 1 for its children, …"""
        return len(self.ancestors(folder_id))

    def subtree(self, folder_id: str) -> list[str]:
        """`folder_id` and every folder below it, breadth first."""
        self.node(folder_id)
        by_parent: dict[str | None, list[str]] = {}
        for node in self.folders.values():
            by_parent.setdefault(node.parent_id, []).append(node.id)
        found: list[str] = []
        queue, seen = deque([folder_id]), {folder_id}
        while queue:
            current = queue.popleft()
            found.append(current)
            for child in by_parent.get(current, []):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return found

    def subtrees(self, folder_ids: Iterable[str]) -> list[str]:
        """The union of the subtrees of the given folders (unknown ids kept as they are, so a
        filter on them still matches nothing)."""
        result: dict[str, None] = {}
        for folder_id in folder_ids:
            if folder_id in self.folders:
                result.update(dict.fromkeys(self.subtree(folder_id)))
            else:
                result[folder_id] = None
        return list(result)

    def height(self, folder_id: str) -> int:
        """How many levels hang below `folder_id` (0 for a folder without subfolders)."""
        levels = {folder_id: 0}
        for current in self.subtree(folder_id)[1:]:
            parent = self.folders[current].parent_id
            levels[current] = levels[parent] + 1 if parent in levels else 1
        return max(levels.values())

    # -- rules ------------------------------------------------------------------------------

    def _check_parent(self, parent_id: str | None) -> None:
        if parent_id is not None and parent_id not in self.folders:
            raise InvalidInput("parent_id names no folder of this workspace")

    def _check_name_free(self, parent_id: str | None, name: str, moving: str | None) -> None:
        key = tag_key(name)
        for sibling in self.children(parent_id):
            if sibling.id != moving and tag_key(sibling.name) == key:
                raise Conflict(f"a folder named {sibling.name!r} already exists here")

    def _check_depth(self, parent_id: str | None, height: int, max_depth: int) -> None:
        levels = (0 if parent_id is None else self.depth(parent_id) + 1) + height + 1
        if levels > max_depth:
            raise InvalidInput(f"folders nest at most {max_depth} levels deep")

    # -- changing ---------------------------------------------------------------------------

    def add(
        self, name: str, parent_id: str | None, *, max_depth: int, max_folders: int
    ) -> FolderNode:
        """A new folder under `parent_id`; 422 for a bad name, parent or depth, 409 for a
        name taken among its siblings or a full workspace."""
        clean = folder_name(name)
        self._check_parent(parent_id)
        if len(self.folders) >= max_folders:
            raise Conflict(f"a workspace holds at most {max_folders} folders")
        self._check_depth(parent_id, 0, max_depth)
        self._check_name_free(parent_id, clean, None)
        node = FolderNode(id=new_id(), name=clean, parent_id=parent_id)
        self.folders[node.id] = node
        return node

    def change(
        self, folder_id: str, *, name: str | None, parent_id: str | None, move: bool, max_depth: int
    ) -> FolderNode:
        """Rename and/or move (`move`: `parent_id` applies, None meaning the top level).
        Moving a folder into itself or below itself is 409: no cycle can be made."""
        node = self.node(folder_id)
        target = parent_id if move else node.parent_id
        clean = folder_name(name) if name is not None else node.name
        if move:
            self._check_parent(target)
            if target is not None and target in self.subtree(folder_id):
                raise Conflict("a folder cannot be moved into itself or its own subfolders")
            self._check_depth(target, self.height(folder_id), max_depth)
        self._check_name_free(target, clean, folder_id)
        node.name, node.parent_id, node.updated_at = clean, target, utcnow()
        return node

    def remove(self, folder_ids: Iterable[str]) -> None:
        for folder_id in folder_ids:
            self.folders.pop(folder_id, None)


class FolderCatalog:
    """Reads and changes folder trees in the object store (the source of truth)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def read(self, workspace: str) -> FolderTree:
        return self._read(workspace)[0]

    def _read(self, workspace: str) -> tuple[FolderTree, str | None]:
        try:
            stored = self._store.get_bytes(layout.folders_key(workspace))
        except ObjectNotFound:
            return FolderTree(), None
        return FolderTree.model_validate_json(stored.data), stored.info.etag

    def change(self, workspace: str, mutate: Callable[[FolderTree], T]) -> T:
        """Apply `mutate` (which validates and may raise) to the current tree and write it by
        compare-and-swap; a lost race re-reads and runs `mutate` again on the new tree."""
        key = layout.folders_key(workspace)
        for _ in range(MAX_CAS_ATTEMPTS):
            tree, etag = self._read(workspace)
            result = mutate(tree)
            data = tree.model_dump_json().encode()
            try:
                put_document(self._store, key, data, etag)
            except PreconditionFailed:
                continue
            return result
        raise StoreUnavailable("too many concurrent folder changes; try again")

    def require(self, workspace: str, folder_id: str) -> FolderNode:
        """The folder `folder_id` of `workspace`; 422 when there is none (a reference in a
        request body, so not a 404)."""
        found = self.read(workspace).folders.get(folder_id)
        if found is None:
            raise InvalidInput(NO_FOLDER)
        return found
