"""Jinja2 environments (one per locale, autoescaped) and the page renderer every view uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from mezame.config import Settings
from mezame.models import User
from mezame.web import labels
from mezame.web.csrf import csrf_token
from mezame.web.i18n import (
    LOCALE_NAMES,
    LOCALES,
    choose_locale,
    format_day,
    format_moment,
    format_yen,
    translations,
)
from mezame.web.navigation import menu_for


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as pages see it (a copy: it outlives the request's session)."""

    id: int
    name: str
    email: str
    role: str
    locale: str

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(id=user.id, name=user.name, email=user.email, role=user.role, locale=user.locale)


class Renderer:
    """Renders templates in the request's locale with the context every page needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.timezone)
        loader = PackageLoader("mezame.web", "templates")
        # One environment per locale: installing gettext on a shared one would race between
        # requests served in parallel threads.
        self.environments = {locale: self._environment(loader, locale) for locale in LOCALES}

    def _environment(self, loader: PackageLoader, locale: str) -> Environment:
        env = Environment(
            loader=loader,
            autoescape=True,
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        catalogue = translations(locale)
        env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]

        def label(names: Mapping[str, str], code: str | None) -> str:
            """The translated name of a stored code; an unknown code is shown as it is."""
            msgid = names.get(code or "")
            return catalogue.gettext(msgid) if msgid else (code or "")

        env.filters["day"] = partial(format_day, locale=locale, tz=self.tz)
        env.filters["moment"] = partial(format_moment, locale=locale, tz=self.tz)
        env.filters["yen"] = format_yen
        env.filters["num"] = "{:,}".format
        env.globals.update(
            locale=locale,
            locale_names=LOCALE_NAMES,
            labels=labels,
            label=label,
            timeline_look=labels.timeline_look,
        )
        return env

    def locale_for(self, request: Request, user: Viewer | None) -> str:
        """Session choice first, then the user's preference, then the site default."""
        return choose_locale(
            request.session.get("locale"),
            user.locale if user is not None else None,
            self.settings.default_locale,
        )

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """An HTML response from a template, with user, navigation, locale and CSRF token."""
        user: Viewer | None = getattr(request.state, "user", None)
        locale = self.locale_for(request, user)
        path = request.url.path
        page_context = {
            "request": request,
            "user": user,
            "path": path,
            "current_url": _local_url(request),
            "nav": menu_for(user.role, path) if user is not None else [],
            "csrf_token": csrf_token(request.session),
            **(context or {}),
        }
        html = self.environments[locale].get_template(template).render(page_context)
        return HTMLResponse(html, status_code=status_code, headers=headers)


def _local_url(request: Request) -> str:
    """Path and query of this request: where the language switch returns to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
