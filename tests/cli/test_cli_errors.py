"""Bad arguments and unreachable backends end a command with one clear line on stderr and
a non-zero status, never a traceback (run as a user would: a subprocess)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.cli.test_cli import run

# Nothing listens on port 1: connecting is refused at once.
ES_DOWN = {"ASSETLENS_INDEX_BACKEND": "elasticsearch", "ASSETLENS_ES_URL": "http://127.0.0.1:1"}
STORE_DOWN = {
    "ASSETLENS_STORE_BACKEND": "s3",
    "ASSETLENS_S3_ENDPOINT": "http://127.0.0.1:1",
    "ASSETLENS_S3_ACCESS_KEY": "qa",
    "ASSETLENS_S3_SECRET_KEY": "qa-secret",
    "ASSETLENS_S3_BUCKET": "qa-cli-errors",
}


def image(tmp_path: Path) -> Path:
    path = tmp_path / "fox.png"
    Image.new("RGB", (16, 16), (200, 60, 20)).save(path)
    return path


def test_ingest_refuses_a_malformed_workspace_name_without_a_traceback(tmp_path: Path) -> None:
    result = run(tmp_path / "data", "ingest", str(image(tmp_path)), "--workspace", "Bad Name!")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "workspace names are 1-63 characters" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before the library was opened


def test_commands_say_the_index_is_down_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args in (["reconcile"], ["reindex"], ["ingest", str(image(tmp_path))]):
        result = run(data, *args, timeout=240, **ES_DOWN)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert (
            result.stderr.strip().splitlines()[-1].startswith("Service unavailable: elasticsearch")
        ), args


def test_commands_say_the_store_is_down_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args in (
        ["keys", "create", "--workspace", "studio"],
        ["gc"],
        ["ingest", str(image(tmp_path)), "--workspace", "studio"],
    ):
        result = run(data, *args, timeout=240, **STORE_DOWN)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("Service unavailable: object store unavailable"), (args, last)


def test_library_errors_are_not_wrapped_mid_sentence(tmp_path: Path) -> None:
    """An 80-column wrap would split a message (or an id) over two lines."""
    result = run(tmp_path / "data", "folders", "list", "--workspace", "Bad Name!", COLUMNS="60")
    assert result.returncode == 2  # a malformed argument, as for keys, ingest and purge
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_bad_setting_names_its_variable_without_a_traceback(tmp_path: Path) -> None:
    for args in (["reindex"], ["keys", "list", "--workspace", "studio"], ["folders", "list"]):
        result = run(tmp_path / "data", *args, timeout=120, ASSETLENS_LOG_FORMAT="bogus")
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("Invalid setting ASSETLENS_LOG_FORMAT: "), (args, last)


def test_serve_refuses_a_port_no_socket_can_have(tmp_path: Path) -> None:
    for port in ("0", "65536", "99999"):
        result = run(tmp_path / "data", "serve", "--port", port, timeout=60)
        assert result.returncode == 2, (port, result.stderr)
        assert "--port" in result.stderr and "Traceback" not in result.stderr, port


def test_ingest_says_why_a_named_file_is_not_imported(tmp_path: Path) -> None:
    notes = tmp_path / "notes.xyz"
    notes.write_text("not media")
    result = run(tmp_path / "data", "ingest", str(notes), "--workspace", "studio")
    assert result.returncode == 1, result.stderr
    assert f"skipped {notes}: not a file type Assetlens imports" in result.stderr
    assert "0 imported, 1 refused" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run(tmp_path / "data", "ingest", str(empty), "--workspace", "studio")
    assert nothing.returncode == 0, nothing.stderr
    assert "no file of a type Assetlens imports" in nothing.stderr


def test_refused_input_names_the_field_in_plain_words(tmp_path: Path) -> None:
    data = tmp_path / "data"
    empty = run(data, "folders", "create", "", "--workspace", "studio")
    assert empty.returncode == 1
    assert "Invalid input: name: String should have at least 1 character" in empty.stderr
    untagged = run(data, "assets", "bulk", "tag", "--ids", "f" * 32, "--workspace", "studio")
    assert untagged.returncode == 1
    assert "Invalid input: `tag` needs `tags`" in untagged.stderr
    assert "Value error" not in untagged.stderr


def test_serve_says_in_one_line_that_the_library_cannot_be_opened(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    result = run(tmp_path, "serve", "--port", "1", "--data-dir", str(not_a_dir), timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Service unavailable: local object store"), last
