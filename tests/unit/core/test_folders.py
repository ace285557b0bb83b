"""Folder trees and their store document, with the fake store passed in: names, cycles,
depth, and compare-and-swap under racing moves."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from assetlens import layout
from assetlens.errors import Conflict, InvalidInput, NotFound
from assetlens.folders import FolderCatalog, FolderTree
from assetlens.ports import ObjectInfo
from tests.fakes import FakeObjectStore

LIMITS = {"max_depth": 32, "max_folders": 1000}


def move(
    catalog: FolderCatalog, folder_id: str, parent_id: str | None, max_depth: int = 32
) -> None:
    catalog.change(
        "ws",
        lambda tree: tree.change(
            folder_id, name=None, parent_id=parent_id, move=True, max_depth=max_depth
        ),
    )


def add(catalog: FolderCatalog, name: str, parent_id: str | None = None, **limits: int) -> str:
    node = catalog.change("ws", lambda tree: tree.add(name, parent_id, **{**LIMITS, **limits}))
    return node.id


def assert_acyclic(tree: FolderTree) -> None:
    for node in tree.folders.values():
        seen = {node.id}
        current = node.parent_id
        while current is not None:
            assert current not in seen, f"cycle through {current}"
            seen.add(current)
            current = tree.folders[current].parent_id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Photos", "photos"),  # case
        ("Café", "Cafe\u0301"),  # composed vs decomposed accent
        ("Ｒｅｎｄｅｒｓ", "renders"),  # full-width compatibility forms
        ("ﬁnal", "final"),  # ligature (compatibility form)
        ("logo", "lo\u200bgo"),  # zero-width space
        ("logo", "\ufefflogo\u00ad"),  # BOM and soft hyphen
        ("Old  Work", "old work"),  # inner whitespace
    ],
)
def test_sibling_names_equal_after_normalisation_conflict(first: str, second: str) -> None:
    tree = FolderTree()
    tree.add(first, None, **LIMITS)
    with pytest.raises(Conflict):
        tree.add(second, None, **LIMITS)


def test_same_name_under_different_parents_is_allowed_and_display_name_kept() -> None:
    tree = FolderTree()
    a = tree.add("A", None, **LIMITS)
    b = tree.add("B", None, **LIMITS)
    tree.add("Renders", a.id, **LIMITS)
    child = tree.add("Ｒenders\u202e", b.id, **LIMITS)
    assert child.name == "Ｒenders"  # NFC display form, bidi control removed
    with pytest.raises(Conflict):
        tree.change(child.id, name=None, parent_id=a.id, move=True, max_depth=32)


@pytest.mark.parametrize("name", ["a/b", "a\\b", "a／b", "..", " ", "\u200b", "\x00\x01"])
def test_bad_folder_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        FolderTree().add(name, None, **LIMITS)


def test_move_into_itself_or_a_descendant_is_a_conflict() -> None:
    tree = FolderTree()
    top = tree.add("top", None, **LIMITS)
    mid = tree.add("mid", top.id, **LIMITS)
    low = tree.add("low", mid.id, **LIMITS)
    for target in (top.id, mid.id, low.id):
        with pytest.raises(Conflict):
            tree.change(top.id, name=None, parent_id=target, move=True, max_depth=32)
    assert tree.node(top.id).parent_id is None
    tree.change(low.id, name=None, parent_id=None, move=True, max_depth=32)
    assert tree.depth(low.id) == 0 and tree.ancestors(mid.id) == [tree.node(top.id)]


def test_unknown_parent_is_invalid_input_and_unknown_folder_not_found() -> None:
    tree = FolderTree()
    with pytest.raises(InvalidInput):
        tree.add("x", "0" * 32, **LIMITS)
    with pytest.raises(NotFound):
        tree.change("f" * 32, name="y", parent_id=None, move=False, max_depth=32)


def test_depth_limit_holds_for_creation_and_for_moving_subtrees() -> None:
    tree = FolderTree()
    chain = [tree.add("l0", None, max_depth=3, max_folders=100)]
    chain.append(tree.add("l1", chain[-1].id, max_depth=3, max_folders=100))
    chain.append(tree.add("l2", chain[-1].id, max_depth=3, max_folders=100))
    with pytest.raises(InvalidInput, match="3 levels"):
        tree.add("l3", chain[-1].id, max_depth=3, max_folders=100)
    other = tree.add("other", None, max_depth=3, max_folders=100)
    tree.add("child", other.id, max_depth=3, max_folders=100)
    # `other` has one level below it: under l1 it would reach level 4.
    with pytest.raises(InvalidInput):
        tree.change(other.id, name=None, parent_id=chain[1].id, move=True, max_depth=3)
    tree.change(other.id, name=None, parent_id=chain[0].id, move=True, max_depth=3)
    assert tree.depth(other.id) == 1 and tree.height(other.id) == 1


def test_folder_count_limit() -> None:
    tree = FolderTree()
    tree.add("one", None, max_depth=32, max_folders=1)
    with pytest.raises(Conflict):
        tree.add("two", None, max_depth=32, max_folders=1)


def test_subtrees_keep_unknown_ids_so_filters_match_nothing() -> None:
    tree = FolderTree()
    top = tree.add("top", None, **LIMITS)
    child = tree.add("child", top.id, **LIMITS)
    assert tree.subtrees([top.id, "x" * 32]) == [top.id, child.id, "x" * 32]


def test_catalog_round_trips_through_the_store_document() -> None:
    store = FakeObjectStore()
    catalog = FolderCatalog(store)
    folder_id = add(catalog, "Renders")
    assert store.exists(layout.folders_key("ws"))
    assert catalog.read("ws").node(folder_id).name == "Renders"
    assert catalog.read("other").folders == {}
    assert catalog.require("ws", folder_id).id == folder_id
    with pytest.raises(InvalidInput):
        catalog.require("other", folder_id)


class InterleavingStore(FakeObjectStore):
    """Runs `hook` once, just before the next write of the folder document lands, as if
    another request's write had won the race."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], object] | None = None

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        hook, self.hook = self.hook, None
        if hook is not None and key.endswith("folders.json"):
            hook()
        return super().put_bytes(
            key, data, content_type=content_type, if_match=if_match, create_only=create_only
        )


def test_two_racing_moves_cannot_make_a_cycle() -> None:
    store = InterleavingStore()
    catalog = FolderCatalog(store)
    a, b = add(catalog, "a"), add(catalog, "b")
    # a → under b validates on the old tree, but b → under a lands first; the retry
    # re-validates on the new tree and refuses.
    store.hook = lambda: move(catalog, b, a)
    with pytest.raises(Conflict):
        move(catalog, a, b)
    tree = catalog.read("ws")
    assert tree.node(b).parent_id == a and tree.node(a).parent_id is None
    assert_acyclic(tree)


def test_racing_creates_keep_sibling_names_unique() -> None:
    store = InterleavingStore()
    catalog = FolderCatalog(store)
    add(catalog, "seed")
    store.hook = lambda: add(catalog, "Shots")
    with pytest.raises(Conflict):
        add(catalog, "SHOTS")
    assert sorted(n.name for n in catalog.read("ws").folders.values()) == ["Shots", "seed"]


def test_many_threads_moving_folders_never_create_a_cycle() -> None:
    catalog = FolderCatalog(FakeObjectStore())
    ids = [add(catalog, f"f{i}") for i in range(8)]
    outcomes: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            folder, parent = rng.choice(ids), rng.choice([*ids, None])
            try:
                move(catalog, folder, parent)
                outcomes.append("moved")
            except (Conflict, InvalidInput):
                outcomes.append("refused")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tree = catalog.read("ws")
    assert len(tree.folders) == 8
    assert_acyclic(tree)
    assert "moved" in outcomes and "refused" in outcomes
