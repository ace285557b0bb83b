"""`assetlens models …`: get the CLIP model ready on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assetlens.cli_base import library_settings
from assetlens.cli_library import DataDir, console
from assetlens.errors import EmbeddingUnavailable

models_app = typer.Typer(help="Prepare the CLIP model for this machine.", no_args_is_help=True)


@models_app.command("prepare")
def models_prepare(
    data_dir: DataDir = None,
    images: Annotated[
        int, typer.Option(min=4, max=512, help="probe batch size for the timing")
    ] = 32,
) -> None:
    """Export the CLIP model to ONNX, check each runtime's vectors against torch's, time
    them on this CPU, and record the fastest one that agrees (used by clip_runtime=auto)."""
    from embeddings.clip_loader import load
    from embeddings.open_clip_embedder import OpenClipEmbedder
    from embeddings.runtime_choice import prepare
    from embeddings.runtimes import SAME_VECTORS_MIN_COSINE, RuntimeName

    settings = library_settings(data_dir)
    torch_settings = settings.model_copy(update={"clip_runtime": RuntimeName.TORCH.value})
    try:
        loaded = load(settings)
    except EmbeddingUnavailable as exc:
        console.print(f"[red]No CLIP model:[/] {exc.detail}")
        raise typer.Exit(1) from exc
    model_id = OpenClipEmbedder(torch_settings).model_id
    with console.status("exporting and timing (a minute or two the first time)…"):
        measured, choice = prepare(settings, loaded, model_id, n_images=images)
    table = Table("runtime", "images/s", "worst cosine vs torch", "vectors")
    for m in measured:
        same = m.runtime is not RuntimeName.ONNX_INT8 and m.worst_cosine >= SAME_VECTORS_MIN_COSINE
        table.add_row(
            m.runtime.value,
            f"{m.images_per_s:.1f}",
            f"{m.worst_cosine:.5f}",
            "same as torch" if same else "own model id (bulk ingest only)",
        )
    console.print(table)
    where = Path(settings.clip_onnx_dir or settings.data_dir / "models" / "onnx").resolve()
    console.print(
        f"clip_runtime=auto will use [bold]{choice.value}[/] on this machine "
        f"(recorded under {where})"
    )
