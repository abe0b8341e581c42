"""The FastAPI application: REST API under /api/v1 and the web UI, one process."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from mezame import __version__
from mezame.api import v1
from mezame.config import Settings
from mezame.db import make_engine
from mezame.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

_STATUS_FOR_ERROR: dict[type[Exception], int] = {
    InvalidInputError: 422,
    ConflictError: 409,  # an InvalidInputError too: the handler of the closest class answers
    NotFoundError: 404,
    PermissionDeniedError: 403,
}


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """Build the app for these settings; the engine is made here, never at import time."""
    app = FastAPI(
        title="mezame API",
        version=__version__,
        description="休眠顧客の掘り起こし — dormant-customer reactivation engine",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.include_router(v1.router, prefix="/api/v1")

    from mezame.web import pages  # the UI is optional for API-only deployments; imported late

    pages.install(app, settings)
    # Added last so it runs first: every layer below sees request.session.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="mezame_session",
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
        max_age=60 * 60 * 12,
    )

    for error_type, status_code in _STATUS_FOR_ERROR.items():
        app.add_exception_handler(error_type, _error_handler(status_code))
    return app


def _error_handler(status_code: int):  # type: ignore[no-untyped-def]
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_code)

    return handle
