"""The embedded index's tantivy keyword side across processes: a writer killed (SIGKILL) in the
middle of bringing it up to date, another process's writes seen by the next search, and a
library made before the tantivy engine (no keyword directory) built from SQLite on first use."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.bootstrap import build_index
from assetlens.config import Settings
from assetlens.query import SearchQuery
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.keyword import keyword_dir
from tests.contract.search_index_contract import WS, aid, make_asset, make_doc, put
from tests.support.processes import OP_LIMIT

REPO = Path(__file__).resolve().parents[2]
# A child that writes batches of assets, removes some, and searches after each batch (each
# search brings the keyword index up to date); it says each batch number when done.
_WRITER = """
import sys
from pathlib import Path
from assetlens.query import SearchQuery
from indexer.embedded import EmbeddedSearchIndex
from tests.contract.search_index_contract import WS, aid, make_asset, make_doc

index = EmbeddedSearchIndex(Path(sys.argv[1]))
batch_size, batches = int(sys.argv[2]), int(sys.argv[3])
for b in range(batches):
    docs = [make_doc(make_asset(f"w{b}-{i}", prompt=f"lantern harbour {i}"))
            for i in range(batch_size)]
    index.upsert(docs)
    index.remove(WS, [aid(f"w{b}-{i}") for i in range(0, batch_size, 7)])
    index.search(SearchQuery(workspace=WS, text="lantern", limit=1))
    print(b, flush=True)
"""


def _writer(path: Path, batch_size: int, batches: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(batch_size), str(batches)],
        env=env, stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip


def _catching_up(lock: Path) -> bool:
    """Whether some process holds the keyword index's catch-up lock."""
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _kill_while_catching_up(child: subprocess.Popen[str], lock: Path) -> None:
    """SIGKILL `child` while it holds the catch-up lock (inside a tantivy write)."""
    deadline = time.monotonic() + OP_LIMIT
    while not _catching_up(lock):
        assert child.poll() is None, "the writer finished before it could be killed"
        assert time.monotonic() < deadline, "the writer never caught the keyword index up"
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait(OP_LIMIT)


def _journal_ids(index: EmbeddedSearchIndex) -> set[str]:
    return {asset_id for workspace, asset_id, _ in index.revisions() if workspace == WS}


def _searched_ids(index: EmbeddedSearchIndex, text: str | None = None) -> tuple[int, set[str]]:
    page = index.search(SearchQuery(workspace=WS, text=text, limit=100))
    ids = {h.asset.id for h in page.hits}
    while page.next_cursor:
        page = index.search(SearchQuery(workspace=WS, text=text, limit=100,
                                        cursor=page.next_cursor))  # fmt: skip
        ids |= {h.asset.id for h in page.hits}
    return page.total, ids


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EmbeddedSearchIndex]:
    index = EmbeddedSearchIndex(tmp_path / "index")
    index.ensure()
    yield index
    index.close()


def _db(index: EmbeddedSearchIndex) -> str:
    return (index.directory / "current").read_text(encoding="utf-8").strip()


def test_writer_killed_mid_catch_up_then_search_converges(
    index: EmbeddedSearchIndex,
) -> None:
    put(index, *(make_doc(make_asset(f"seed{i}", prompt="lantern at dusk")) for i in range(50)))
    index.search(SearchQuery(workspace=WS, text="lantern"))
    lock = keyword_dir(index.directory, _db(index)) / "lock"
    for _ in range(2):
        child = _writer(index.directory, 800, 50)
        _kill_while_catching_up(child, lock)
        assert child.returncode == -signal.SIGKILL
    expected = _journal_ids(index)
    assert len(expected) > 50  # the killed writers' SQLite commits are in the journal
    assert _searched_ids(index) == (len(expected), expected)
    assert _searched_ids(index, "lantern") == (len(expected), expected)


def test_writer_killed_mid_build_then_search_converges(index: EmbeddedSearchIndex) -> None:
    put(index, *(make_doc(make_asset(f"b{i}", prompt=f"harbour lantern {i}"))
                 for i in range(1500)))  # fmt: skip
    home = keyword_dir(index.directory, _db(index))
    child = _writer(index.directory, 1, 1)  # its first search builds the keyword index
    _kill_while_catching_up(child, home / "lock")
    assert not (home / "applied").exists()  # killed before the build was recorded
    fresh = EmbeddedSearchIndex(index.directory)
    try:
        expected = _journal_ids(fresh)
        assert _searched_ids(fresh, "harbour") == (len(expected), expected)
    finally:
        fresh.close()


def test_another_process_write_is_seen_by_the_next_search(index: EmbeddedSearchIndex) -> None:
    put(index, make_doc(make_asset("here", prompt="lantern")))
    assert _searched_ids(index, "lantern")[0] == 1  # this process has a reader open now
    child = _writer(index.directory, 3, 1)
    assert child.wait(OP_LIMIT) == 0
    total, ids = _searched_ids(index, "harbour")
    assert ids == {aid("w0-1"), aid("w0-2")}  # w0-0 was removed by the writer
    assert total == 2


def test_library_without_keyword_index_builds_it_on_first_search(tmp_path: Path) -> None:
    old = EmbeddedSearchIndex(tmp_path / "index", engine="sqlite")
    put(old, *(make_doc(make_asset(f"o{i}", prompt=f"old lighthouse {i}")) for i in range(30)))
    db = _db(old)
    old.close()
    assert not keyword_dir(tmp_path / "index", db).exists()
    index = EmbeddedSearchIndex(tmp_path / "index")
    try:
        total, ids = _searched_ids(index, "lighthouse")
        assert total == 30
        assert ids == {aid(f"o{i}") for i in range(30)}
        assert (keyword_dir(tmp_path / "index", db) / "applied").exists()
    finally:
        index.close()


def test_rebuild_builds_the_keyword_index_of_the_new_database(
    index: EmbeddedSearchIndex,
) -> None:
    put(index, make_doc(make_asset("before", prompt="lantern")))
    assert _searched_ids(index, "lantern")[0] == 1
    old_db = _db(index)
    count = index.rebuild([make_doc(make_asset(f"r{i}", prompt="beacon")) for i in range(5)])
    assert count == 5
    assert _db(index) != old_db
    assert (keyword_dir(index.directory, _db(index)) / "applied").exists()
    assert _searched_ids(index, "beacon") == (5, {aid(f"r{i}") for i in range(5)})
    assert _searched_ids(index, "lantern") == (0, set())


@pytest.mark.parametrize(("engine", "keyword_index"), [("tantivy", True), ("sqlite", False)])
def test_setting_chooses_the_keyword_engine(tmp_path: Path, engine: str,
                                            keyword_index: bool) -> None:  # fmt: skip
    settings = Settings(_env_file=None, data_dir=tmp_path, embedded_search_engine=engine)
    index = build_index(settings)
    try:
        put(index, make_doc(make_asset("one", prompt="lantern")))
        assert {
            h.asset.id for h in index.search(SearchQuery(workspace=WS, text="lantern")).hits
        } == {aid("one")}
        assert any(tmp_path.glob("index/*.keyword")) is keyword_index
    finally:
        index.close()


def test_a_removed_keyword_index_is_built_again(tmp_path: Path) -> None:
    index = EmbeddedSearchIndex(tmp_path / "index")
    put(index, *(make_doc(make_asset(f"g{i}", prompt="lantern")) for i in range(3)))
    assert _searched_ids(index, "lantern")[0] == 3
    index.close()
    shutil.rmtree(keyword_dir(index.directory, _db(index)) / "data")  # `applied` remains
    fresh = EmbeddedSearchIndex(tmp_path / "index")
    try:
        assert _searched_ids(fresh, "lantern") == (3, {aid(f"g{i}") for i in range(3)})
    finally:
        fresh.close()
