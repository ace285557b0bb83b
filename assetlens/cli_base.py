"""What the top-level `assetlens` commands share: the `--data-dir` option and the settings
it gives, the line that says which library a command works on, the stderr console, and
the refusal of bad input as a message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from assetlens.config import Settings, StoreBackend, absolute_dir
from assetlens.errors import InvalidInput

# Lines are never wrapped by rich: a path, a key or a command stays one line to copy.
console = Console(stderr=True, soft_wrap=True)

T = TypeVar("T")
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="overrides ASSETLENS_DATA_DIR")]


def library_settings(data_dir: Path | None) -> Settings:
    """The settings from the environment, with `--data-dir` in place of the data dir. A
    setting that does not validate ends the command naming its variable (exit 2)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        console.print(
            f"Invalid setting ASSETLENS_{field.upper()}: {error['msg']}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2) from None
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": absolute_dir(data_dir)})
    return settings


def refuse_invalid(action: Callable[[], T]) -> T:
    """Run `action`; bad input (a malformed workspace name…) is a message and exit 2."""
    try:
        return action()
    except InvalidInput as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(2) from None


def where(settings: Settings) -> str:
    """Which library a command works on, so a key is not made for the wrong one."""
    if settings.store_backend is StoreBackend.S3:
        return f"bucket {settings.s3_bucket} at {settings.s3_endpoint}"
    return f"data dir {settings.data_dir.resolve()}"


def refusal(exc: ValidationError) -> str:
    """The first refused field of a model, as one line: `name: String should have…`
    (pydantic's "Value error, " prefix of a model-level rule dropped)."""
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in error["loc"])
    return f"{field}: {message}" if field else message
