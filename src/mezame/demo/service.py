"""Load the demo: generate the world, write its files, and import each through the importer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.campaigns.definition.service import create_from_plan
from mezame.campaigns.plan import CampaignPlan
from mezame.demo.files import write_world
from mezame.demo.timeline import add_months
from mezame.demo.world import SALES_REPS, Planted, generate_world
from mezame.dormancy.changes import Change, ChangeKind, ChangesPolicy
from mezame.ingest.service import ImportReport, import_file
from mezame.models import Campaign, MailTemplate, Segment, User
from mezame.policy.service import load_policy, save_policy
from mezame.segments.service import create_segment
from mezame.templates.service import install_builtin_templates
from mezame.templates.types import MessageType
from mezame.vocabulary import Role

# Printed by `mezame demo`: a demo database is for looking around, never for real customers.
DEMO_PASSWORD = "mezame-demo-2026"  # noqa: S105
DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("admin@demo.mezame.jp", "管理者 デモ", Role.ADMIN),
    ("marketing@demo.mezame.jp", "マーケ 花子", Role.MARKETING),
    *((email, name, Role.SALES) for email, name in SALES_REPS),
)

# (step, done, total): "generate", "files", then one step per import kind.
DemoProgress = Callable[[str, int, int], None]


def ensure_demo_users(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo logins that do not exist yet; (email, password, role) for each."""
    existing = set(
        session.scalars(select(User.email).where(User.email.in_([u[0] for u in DEMO_USERS])))
    )
    for email, name, role in DEMO_USERS:
        if email not in existing:
            create_user(session, email=email, name=name, role=role, password=DEMO_PASSWORD)
    return [(email, DEMO_PASSWORD, role.value) for email, _, role in DEMO_USERS]


def demo_changes(planted: Planted) -> ChangesPolicy:
    """What the demo vendor changed over the two years, as its team would record it."""
    month = planted.as_of.replace(day=1)
    return ChangesPolicy(
        changes=(
            Change(
                on=planted.price_rise_on,
                kind=ChangeKind.PRICE_RISE,
                description=f"価格改定（全プラン {planted.price_rise_percent}% 値上げ）",
            ),
            Change(
                on=planted.feature_release_on,
                kind=ChangeKind.NEW_FEATURE,
                description=f"{planted.feature_name}をリリースしました",
            ),
            Change(
                on=add_months(month, -3),
                kind=ChangeKind.CASE_STUDY,
                description="同業の卸売A社で受発注の工数を30%削減した事例を公開",
            ),
            Change(
                on=planted.price_cut_on,
                kind=ChangeKind.PRICE_CUT,
                description=f"年間プランを{planted.price_cut_percent}%値下げしました",
            ),
            Change(
                on=add_months(month, -1),
                kind=ChangeKind.NEW_SEASON,
                description="来期4月の稼働に間に合う導入スケジュールをご用意しました",
            ),
        )
    )


def load_demo(
    session: Session,
    *,
    companies: int,
    seed: int,
    as_of: date,
    directory: Path,
    progress: DemoProgress | None = None,
) -> dict[str, ImportReport]:
    """Generate the demo world, write its files into `directory` and import them in order.

    The files name the demo sales reps as owners, so their users are ensured first.
    Imports are idempotent: loading the same world twice leaves the same rows.
    """
    ensure_demo_users(session)
    if progress is not None:
        progress("generate", 0, 1)
    world = generate_world(companies=companies, seed=seed, as_of=as_of)
    if progress is not None:
        progress("generate", 1, 1)
        progress("files", 0, 1)
    files = write_world(world, directory)
    if progress is not None:
        progress("files", 1, 1)
    # The offers/changes setting, unless the team already recorded its own.
    if not load_policy(session, ChangesPolicy).changes:
        save_policy(session, demo_changes(world.planted))
    install_builtin_templates(session)  # the Japanese mails of SPEC 5.2, ready to use
    reports: dict[str, ImportReport] = {}
    for kind, path in files:
        step = kind.value

        def report_progress(done: int, total: int, step: str = step) -> None:
            if progress is not None:
                progress(step, done, total)

        report = import_file(session, kind=kind, path=path, progress=report_progress)
        # .xlsx cannot tell its row count up front: close the step with what was read.
        report_progress(report.rows_total, report.rows_total)
        reports[step] = report
    return reports


def _rule(field: str, op: str, value: object = None) -> dict[str, object]:
    return {"field": field, "op": op, "value": value}


# Who the demo's campaigns are for: the three kinds of dormant record, each with its angle.
DEMO_SEGMENTS: tuple[tuple[str, str, list[dict[str, object]]], ...] = (
    (
        "価格で見送り・失注した担当者",
        "再提案（価格）の対象: 価格が理由の失注・見送りで、メールを送れる人",
        [
            _rule("dormancy.kind", "eq", "lost_deal"),
            _rule("dormancy.reason", "eq", "price"),
            _rule("consent.mailable", "eq", True),
        ],
    ),
    (
        "名刺交換のみの担当者",
        "お久しぶりですシリーズの対象: 商談に至らなかった接点のみの人",
        [_rule("dormancy.kind", "eq", "contact_only"), _rule("consent.mailable", "eq", True)],
    ),
    (
        "休眠中の既存顧客（優先度 高）",
        "ニュースレターで思い出してもらう、掘り起こし優先度の高い元顧客",
        [
            _rule("dormancy.kind", "eq", "former_customer"),
            _rule("dormancy.band", "in", ["high"]),
            _rule("consent.mailable", "eq", True),
        ],
    ),
)


def seed_demo_campaigns(session: Session, *, now: datetime, tz: ZoneInfo) -> list[Campaign]:
    """Saved segments and draft campaigns built from the shipped templates, through the same
    services as the UI: ready to preview and send. Idempotent: what exists is left as it is.

    Nothing is scheduled: the demo never mails anyone until someone presses send.
    """
    templates = {
        t.message_type: t.id
        for t in session.scalars(select(MailTemplate).where(MailTemplate.builtin))
    }
    segments: dict[str, int] = {}
    for name, description, rules in DEMO_SEGMENTS:
        found = session.scalar(select(Segment.id).where(Segment.name == name))
        if found is None:
            definition = {"match": "all", "rules": rules}
            found = create_segment(
                session, name=name, definition=definition, description=description
            ).id
        segments[name] = found
    plans: list[dict[str, Any]] = [
        {
            "name": "【再提案】価格で見送られた方へ",
            "segment_id": segments["価格で見送り・失注した担当者"],
            "template_id": templates[MessageType.REPROPOSAL_PRICE],
            "goal": "inquiry",
        },
        {
            "name": "お久しぶりです → 資料のご案内 → リマインド",
            "kind": "sequence",
            "segment_id": segments["名刺交換のみの担当者"],
            "steps": [
                {"template_id": templates[MessageType.HISASHIBURI]},
                {
                    "template_id": templates[MessageType.FOLLOWUP_2DAYS],
                    "wait_days": 2,
                    "branch": "not_clicked",
                },
                {
                    "template_id": templates[MessageType.REMINDER_1WEEK],
                    "wait_days": 7,
                    "branch": "not_clicked",
                    "then_seasonal": True,
                },
            ],
            "goal": "reply",
        },
        {
            "name": "月次ニュースレター（休眠中の既存顧客）",
            "segment_id": segments["休眠中の既存顧客（優先度 高）"],
            "template_id": templates[MessageType.NEWSLETTER],
            "goal": "download",
        },
    ]
    campaigns: list[Campaign] = []
    for plan in plans:
        existing = session.scalar(select(Campaign).where(Campaign.name == plan["name"]))
        if existing is None:
            existing = create_from_plan(
                session, CampaignPlan.model_validate(plan), user_id=None, tz=tz, now=now
            )
        campaigns.append(existing)
    return campaigns
