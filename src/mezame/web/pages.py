"""Wire the web UI into the app: static files, pages, login handling, CSRF, security headers."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mezame.config import Settings
from mezame.web import (
    account,
    auth,
    cadence,
    campaigns,
    duplicates,
    mail_templates,
    public,
    quality,
    reactivation,
    segments,
    views,
)
from mezame.web.csrf import CsrfMiddleware
from mezame.web.headers import SecurityHeadersMiddleware
from mezame.web.render import Renderer

# Swagger UI loads its script and styles from a CDN; the strict CSP would blank it.
_CSP_EXEMPT = ("/api/v1/docs",)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the UI to `app`; the session middleware must be added after (outside) this."""
    renderer = Renderer(settings)
    app.state.web_renderer = renderer
    app.mount(
        "/static",
        StaticFiles(directory=str(files("mezame.web") / "static")),
        name="static",
    )
    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(views.router)
    app.include_router(public.router)
    app.include_router(reactivation.router)
    app.include_router(duplicates.router)
    app.include_router(quality.router)
    app.include_router(campaigns.router)
    app.include_router(mail_templates.router)
    app.include_router(segments.router)
    app.include_router(cadence.router)

    def csrf_rejected(request: Request, reason: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": reason}, status_code=403)
        return renderer.render(request, "error.html", {"status": "csrf"}, status_code=403)

    async def login_required(request: Request, _exc: Exception) -> Response:
        target = auth.login_url(_here(request))
        if request.headers.get("hx-request") == "true":
            # htmx would swap the login page into the table; make it navigate instead.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def forbidden(request: Request, _exc: Exception) -> Response:
        return renderer.render(request, "error.html", {"status": 403}, status_code=403)

    app.add_exception_handler(auth.LoginRequired, login_required)
    app.add_exception_handler(auth.PageForbidden, forbidden)
    # Order matters: CSRF runs inside the session middleware (added by create_app afterwards)
    # and the headers middleware wraps everything below it, rejections included.
    app.add_middleware(CsrfMiddleware, reject=csrf_rejected, exempt_prefixes=public.CSRF_EXEMPT)
    app.add_middleware(SecurityHeadersMiddleware, csp_exempt=_CSP_EXEMPT)


def _here(request: Request) -> str:
    """The page to come back to after logging in (a GET page; POSTs go back home)."""
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
