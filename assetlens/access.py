"""Who is calling: the workspace a credential belongs to and what it may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do. Ordered: `admin` implies `write`, which implies `read`."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


def implied(scopes: frozenset[Scope]) -> frozenset[Scope]:
    """Every scope granted by `scopes`, implications included."""
    top = max((_RANK[s] for s in scopes), default=-1)
    return frozenset(s for s, rank in _RANK.items() if rank <= top)


def ordered(scopes: frozenset[Scope]) -> list[Scope]:
    """Scopes from the least to the most powerful, for stable JSON."""
    return sorted(scopes, key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: one workspace, its key's scopes, how it signed in."""

    workspace: str
    scopes: frozenset[Scope]
    key_id: str
    via_session: bool = False

    def allows(self, needed: Scope) -> bool:
        return needed in implied(self.scopes)
