"""The JSON a release is stored in (`group_releases.body`), written and read in one place.

A stored release is read back for the rest of its round (shown again word for word, and the
audit of every later release rests on it), and a deletion rewrites it in place; so the text is
exactly what the pydantic models of earlier versions wrote (`model_dump_json`): the same keys
in the same order, no spaces, `null` for None, UTF-8 unescaped, datetimes in ISO 8601 with `Z`.
Reading validates (unknown keys refused, lists back to tuples, stored datetimes aware) and fills
what older releases did not store with the types' defaults.

pydantic is imported on the first release written or read, not with this module: the process
serving answers imports the store, and most of it never touches a group release.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from flows.disclosure import Release

if TYPE_CHECKING:
    from pydantic import TypeAdapter


def dump_release(release: Release) -> str:
    """The stored text of `release`."""
    return _adapter().dump_json(release).decode()


def load_release(text: str | bytes) -> Release:
    """A stored release, validated; raises pydantic's `ValidationError` for a damaged one."""
    return _adapter().validate_json(text)


@cache
def _adapter() -> TypeAdapter[Release]:
    # Built once: building the schema of the release and its parts costs more than using it.
    from pydantic import TypeAdapter

    return TypeAdapter(Release)
