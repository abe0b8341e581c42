"""The /api/v1 router: one include per resource."""

from __future__ import annotations

from fastapi import APIRouter

from mezame import __version__
from mezame.api import (
    cadence,
    campaigns,
    cleaning,
    customers,
    dormancy,
    imports,
    mail,
    quality,
    segments,
    templates,
)

router = APIRouter()


@router.get("/health", tags=["system"])
def health() -> dict[str, str]:
    """Liveness probe (no login)."""
    return {"status": "ok", "version": __version__}


router.include_router(customers.router)
router.include_router(imports.router)
router.include_router(dormancy.router)
router.include_router(cleaning.router)
router.include_router(quality.router)
router.include_router(mail.router)
router.include_router(campaigns.router)
router.include_router(cadence.router)
router.include_router(templates.router)
router.include_router(segments.router)
