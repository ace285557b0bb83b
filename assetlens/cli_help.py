"""`--version` and readable `--help` for the `assetlens` command: plain metavars (`PATH`,
`WORKSPACE`, `allow|link|reject`, nothing for a flag) instead of typer's Python type labels
(`<list[Path]>`, `<str>`, `<bool>`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import typer
from typer.main import get_command

from assetlens import __version__


def show_version(value: bool) -> None:
    """`--version`: print `assetlens <version>` and exit."""
    if value:
        print(f"assetlens {__version__}")
        raise typer.Exit()


def readable_command(app: typer.Typer) -> Any:
    """The click command of `app`, every parameter's value described in plain words."""
    command = get_command(app)
    for each in _walk(command):
        each.help = unwrap(each.help)
        for param in [*each.params, _help_option(each)]:
            if param is None:
                continue
            if param.param_type_name == "argument":
                # An argument's metavar is its name in the usage line; its type column
                # shows the choices, or "..." when it repeats.
                param.metavar = param.metavar or _name(param) + ("..." if param.nargs != 1 else "")
                param.display_type_rich = _argument_type(param)
                # typer < 0.28 shows the type's own metavar in that column instead.
                if hasattr(param, "type"):
                    param.type.get_metavar = _type_metavar(param)
            elif param.metavar is None:
                param.metavar = metavar(param)
    return command


def unwrap(text: str | None) -> str | None:
    """A docstring's paragraphs each on one line: a command list shows the first one as
    written, and a docstring's own line breaks would cut it mid-sentence there."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        " ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs
    )


def metavar(param: Any) -> str:
    """What an option's value looks like in help: its choices, its name in capitals, or
    nothing for a flag."""
    if getattr(param, "is_flag", False):
        return ""
    return _choices(param) or _name(param)


def _choices(param: Any) -> str:
    # typer ≥ 0.2x describes a parameter's type in `type_descriptor`; click in `type`.
    described = getattr(param, "type_descriptor", None) or getattr(param, "type", None)
    choices = getattr(described, "choices", None) or ()
    return "|".join(str(getattr(choice, "value", choice)) for choice in choices)


def _name(param: Any) -> str:
    name = str(param.name or "value").upper().replace("_", "-")
    return name.removesuffix("S") if param.nargs != 1 else name


def _argument_type(param: Any) -> Callable[[Any], str | None]:
    shown = _choices(param)  # a repeating argument's "..." is in its name (metavar)

    def display_type_rich(ctx: Any) -> str | None:
        return shown or None

    return display_type_rich


def _type_metavar(param: Any) -> Callable[..., str]:
    shown = _choices(param)

    def get_metavar(*_: Any, **__: Any) -> str:
        return shown

    return get_metavar


def _walk(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def _help_option(command: Any) -> Any:
    """The command's --help option (built once per command and cached on it)."""
    context_class = getattr(command, "context_class", None)
    if context_class is None:
        return None
    return command.get_help_option(context_class(command))
