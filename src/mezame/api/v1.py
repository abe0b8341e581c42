"""The /api/v1 router: one include per resource."""

from __future__ import annotations

from fastapi import APIRouter

from mezame import __version__
from mezame.api import customers, imports

router = APIRouter()


@router.get("/health", tags=["system"])
def health() -> dict[str, str]:
    """Liveness probe (no login)."""
    return {"status": "ok", "version": __version__}


router.include_router(customers.router)
router.include_router(imports.router)
