"""Typed dependencies shared by the routers: the store the app was created with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from regie.store import Store


def get_store(request: Request) -> Store:
    """The one store of this app (set by :func:`regie.web.app.create_app`)."""
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]
