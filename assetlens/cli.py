"""The `assetlens` command line."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assetlens.cli_assets import assets_app
from assetlens.cli_base import DataDir, console, library_settings, refuse_invalid, where
from assetlens.cli_collections import collections_app
from assetlens.cli_help import readable_command, show_version
from assetlens.cli_keys import keys_app
from assetlens.cli_library import folders_app, tags_app
from assetlens.cli_models import models_app
from assetlens.config import Settings
from assetlens.errors import Unavailable

if TYPE_CHECKING:  # the services load only when a command runs, so `--help` stays fast
    from assetlens.bootstrap import Container

app = typer.Typer(
    help="Assetlens: an asset library for AI-generated media. Every command "
    "works on the library in ASSETLENS_DATA_DIR (default: ./data of the "
    "current directory) and prints which one.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(keys_app, name="keys")
app.add_typer(folders_app, name="folders")
app.add_typer(tags_app, name="tags")
app.add_typer(collections_app, name="collections")
app.add_typer(assets_app, name="assets")
app.add_typer(models_app, name="models")


class DuplicateMode(StrEnum):
    """`ingest --duplicates` (the values of the duplicate policy; the core's enum is
    imported lazily, with the rest of the core)."""

    ALLOW = "allow"
    LINK = "link"
    REJECT = "reject"


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            is_eager=True,
            callback=show_version,
            help="print the version and exit",
        ),
    ] = False,
) -> None:
    """The options before any command."""


def _logging(settings: Settings, verbose: bool = False) -> None:
    from assetlens import logs

    logs.configure(settings.log_format, logging.DEBUG if verbose else logging.INFO)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (and, in embedded mode, run the indexer in-process)."""
    import uvicorn

    from api.app import create_app
    from assetlens.bootstrap import build_store

    settings = library_settings(data_dir)
    _logging(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    shown = "127.0.0.1" if bind_host in ("0.0.0.0", "::") else bind_host  # noqa: S104
    console.print(f"Library: {where(settings)}", markup=False)
    # The app opens the store at startup, where a failure is a traceback in uvicorn's log;
    # opened here first, a library that cannot be is one line (main) and exit 1.
    build_store(settings)
    console.print(f"Web UI: http://{shown}:{bind_port}/  (API docs: /docs)")
    # uvicorn would rewrite the scheme from X-Forwarded-Proto sent by any loopback client;
    # only a deployment that says it sits behind a proxy may have forwarded headers honoured.
    # log_config=None keeps the logging set up above (one format for every line); the
    # app writes its own access log line, with the route, request id and key id.
    uvicorn.run(
        create_app(settings=settings),
        host=bind_host,
        port=bind_port,
        log_level="info",
        proxy_headers=settings.trust_forwarded_headers,
        log_config=None,
        access_log=False,
    )


@app.command()
def indexer(data_dir: DataDir = None) -> None:
    """Run an indexer worker until SIGINT/SIGTERM (run several for more throughput)."""
    from assetlens.bootstrap import build

    settings = library_settings(data_dir)
    _logging(settings)
    console.print(f"Library: {where(settings)}", markup=False)
    container = build(settings)
    if settings.indexer_metrics_port is not None:
        container.metrics.serve(settings.host, settings.indexer_metrics_port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        container.index.ensure()
    except Unavailable as exc:
        # The loop waits for the index with back-off: a worker started before
        # Elasticsearch must not exit.
        logging.getLogger(__name__).warning("index not ready yet: %s", exc.detail)
    console.print("indexer started")
    try:
        container.indexer.run(stop)
    finally:
        container.close()


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or directories", exists=True)],
    workspace: Annotated[str, typer.Option(help="workspace to import into")] = "default",
    tag: Annotated[list[str] | None, typer.Option(help="tag every asset (repeatable)")] = None,
    index: Annotated[bool, typer.Option(help="index now (in this process)")] = True,
    allow_duplicates: Annotated[
        bool,
        typer.Option(
            "--allow-duplicates",
            help="the same as --duplicates allow",
        ),
    ] = False,
    duplicates: Annotated[
        DuplicateMode | None,
        typer.Option(
            help="what a file the workspace already has does: allow (import it again), link "
            "(skip it), reject (refuse it); default: the workspace's policy, allow as link",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import files (sidecar .txt/.json provenance is read too) under the workspace's
    duplicate policy: files it already holds (exact bytes; near duplicates too where the
    policy says so) are skipped or refused unless --duplicates allow. Indexing runs beside
    the import; after Ctrl-C the same command resumes where it stopped."""
    from assetlens.bootstrap import build
    from assetlens.cli_ingest import ingest_all
    from assetlens.ingest import discover, ingest_policy, unimportable
    from assetlens.layout import check_workspace
    from assetlens.services.duplicate_policy import PolicyName

    refuse_invalid(lambda: check_workspace(workspace))
    settings = library_settings(data_dir)
    console.print(f"Library: {where(settings)}", markup=False)
    container = build(settings)
    container.preload_prover()  # the proof's workers start while the files are listed
    try:
        container.index.ensure()
        files = list(discover(paths))
        requested = (
            PolicyName.ALLOW
            if allow_duplicates
            else PolicyName(duplicates.value)
            if duplicates
            else None
        )
        policy = ingest_policy(container.duplicate_policy, workspace, requested)
        with _progress() as progress:
            totals = ingest_all(
                container.assets,
                container.indexer if index else None,
                container.queue,
                workspace,
                files,
                tags=tag or [],
                policy=policy,
                progress=progress,
            )
        totals.failed += [
            (path, "not a file type Assetlens imports") for path in unimportable(paths)
        ]
        if not files and not totals.failed:
            console.print("no file of a type Assetlens imports under the given paths")
        for path, reason in totals.failed:
            console.print(f"[red]skipped[/] {path}: {reason}")
        for path, original in totals.rejected:
            console.print(f"[yellow]rejected[/] {path}: a duplicate of asset {original}")
        console.print(
            f"{totals.imported} imported, {len(totals.failed)} refused, "
            f"{totals.skipped} skipped (already in the workspace), "
            f"{len(totals.rejected)} rejected as duplicates ({policy.value} policy)"
        )
        if (totals.failed or totals.rejected) and not totals.imported:
            raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print(
            "interrupted: run the same command again to resume (files already "
            "imported are skipped, queued ones indexed)"
        )
        raise typer.Exit(130) from None
    finally:
        container.close()


RetryFailed = Annotated[
    bool,
    typer.Option(
        "--retry-failed",
        help="also queue the assets indexing gave up on (status failed) for a "
        "fresh set of attempts",
    ),
]


@app.command()
def reindex(retry_failed: RetryFailed = False, data_dir: DataDir = None) -> None:
    """Rebuild the search index from the object store, then switch to it."""
    from assetlens.bootstrap import build

    settings = library_settings(data_dir)
    _logging(settings)
    console.print(f"Library: {where(settings)}", markup=False)
    container = build(settings)
    try:
        container.index.ensure()
        count = container.indexer.reindex(retry_failed=retry_failed)
        console.print(f"reindexed {count} assets")
    finally:
        container.close()


@app.command()
def reconcile(retry_failed: RetryFailed = False, data_dir: DataDir = None) -> None:
    """Find and repair drift between the store and the index (queues what's missing)."""
    container = _opened(data_dir)
    try:
        container.index.ensure()
        report = container.indexer.reconcile(retry_failed=retry_failed)
        console.print(
            f"checked {report.checked}, queued {report.enqueued}, "
            f"removed {report.removed}, failed ones retried {report.retried}"
        )
    finally:
        container.close()


@app.command()
def purge(
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than", min=0, help="days in the trash (default: trash_retention_days)"
        ),
    ] = None,
    workspace: Annotated[str | None, typer.Option(help="only this workspace")] = None,
    data_dir: DataDir = None,
) -> None:
    """Remove for good the assets trashed longer than the retention (their versions,
    blobs, previews and vectors no other asset uses, and their index entries)."""
    from datetime import timedelta

    from assetlens.layout import check_workspace

    if workspace is not None:
        refuse_invalid(lambda: check_workspace(workspace))
    settings = library_settings(data_dir)
    container = _opened(data_dir, settings)
    try:
        age = None if older_than is None else timedelta(days=older_than)
        report = container.trash.purge_expired(age, workspace)
        days = settings.trash_retention_days if older_than is None else older_than
        console.print(
            f"purged {report.purged} asset(s) trashed more than {days:g} days ago; "
            f"{report.failed} failed"
        )
        if report.failed:
            raise typer.Exit(1)
    finally:
        container.close()


@app.command()
def gc(
    older_than_hours: Annotated[
        float,
        typer.Option(
            "--older-than-hours",
            min=0,
            help="leave markers younger than this (uploads in flight)",
        ),
    ] = 1.0,
    data_dir: DataDir = None,
) -> None:
    """Repair what crashes left: finish interrupted version switches, release blob
    references whose asset or version is gone (collecting unused blobs), clear stale
    collection marks, and write reference markers for a library from before them."""
    from datetime import timedelta

    container = _opened(data_dir)
    try:
        written = container.maintenance.backfill_refs()
        repair, sweep = container.maintenance.gc(timedelta(hours=older_than_hours))
        console.print(
            f"{written} reference markers written, {repair.finished} version "
            f"switches finished, {repair.orphans} orphaned versions removed, "
            f"{sweep.dangling_refs} dangling references released, "
            f"{sweep.collected} blobs collected, {sweep.stale_marks} stale marks "
            "cleared"
        )
    finally:
        container.close()


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port")] = None,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve afterwards")] = True,
    data_dir: DataDir = None,
) -> None:
    """Make sample assets, ingest them into workspace `demo`, and serve API + docs.
    Running it again imports nothing twice and prints the same key."""
    from assetlens.bootstrap import build
    from assetlens.demo import DEMO_WORKSPACE, demo_key, load_samples

    settings = library_settings(data_dir)
    console.print(f"Library: {where(settings)}", markup=False)
    _logging(settings)
    container = build(settings)
    try:
        container.index.ensure()
        with console.status("loading the sample assets"):
            report = load_samples(container.assets, settings.data_dir / "demo-samples")
            container.indexer.drain()
        key = demo_key(container.keys, settings.data_dir / "demo-key")
        visual = container.embedder is not None and container.embedder.available()
    finally:
        container.close()
    base = f"http://{host or settings.host}:{port or settings.port}"
    console.print(
        f"\nSample assets in workspace '{DEMO_WORKSPACE}': {len(report.created)} "
        f"imported, {len(report.skipped)} already there, {len(report.failed)} refused."
    )
    state = "available" if visual else "unavailable (no CLIP weights on this machine)"
    console.print(f"Visual search: {state}")
    console.print(f"Web UI: {base}/  — sign in with the demo key below")
    console.print(f"API docs: {base}/docs")
    # One line however narrow the terminal (soft wrap, no markup), to paste as one command.
    console.print(
        f"Try: curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: "
        f'application/json\' -d \'{{"q": "fox", "facets": ["tags", "model"]}}\' '
        f"{base}/v1/search",
        markup=False,
        highlight=False,
    )
    print(key, flush=True)
    if serve_api:
        serve(host=host, port=port, data_dir=settings.data_dir)


def _opened(data_dir: Path | None, settings: Settings | None = None) -> Container:
    """The library's services without CLIP, after saying which library it is."""
    from assetlens.bootstrap import build

    settings = settings or library_settings(data_dir)
    console.print(f"Library: {where(settings)}", markup=False)
    return build(settings, use_embedder=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def main() -> None:
    """The console script: typer's command with readable help (cli_help). A domain error
    that a command does not handle itself (the index or the store unreachable…) ends it
    with its one-line problem and status 1, as the API would answer it, not a traceback."""
    from assetlens.errors import AssetlensError

    try:
        readable_command(app).main(args=sys.argv[1:], prog_name="assetlens")
    except AssetlensError as exc:
        console.print(f"{exc.title}: {exc.detail}", markup=False, highlight=False)
        sys.exit(1)
