"""Import one customer file: validate every row, write in batches, record the run.

Atomic: the service writes inside the caller's transaction and only flushes.
If any row is bad it keeps validating (so every bad row is reported), stops
writing and raises ImportRejected: the shell rolls back, nothing is kept.
With skip_invalid the good rows are written and the bad ones returned.
Idempotent: rows are upserted by import_key (events skipped by dedupe_key),
so importing a file twice leaves the database as after once.
Fast: references are resolved through maps loaded once per import and rows
are written in batches of executemany, never one statement per row.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import partial
from pathlib import Path
from typing import Any, cast

import yaml
from sqlalchemy import JSON, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mezame.adapters.importers.tabular import open_table
from mezame.customers.activity.service import last_event_id, note_activity_since
from mezame.errors import InvalidInputError, MezameError
from mezame.ingest.fields import ImportKind
from mezame.ingest.records import (
    ColumnMapping,
    ParsedRow,
    RowError,
    RowValidator,
    company_key_for_name,
    format_row_error,
    mapping_from_document,
    resolve_mapping,
)
from mezame.ingest.values import JST
from mezame.models import Base, ImportRun, utcnow

BATCH_ROWS = 10_000
PREVIEW_ROWS = 5
KEPT_REJECTS = 100_000  # rejected rows kept with their cells; beyond this only counted
RUN_ERRORS = 50  # errors stored on the ImportRun for the UI


# Field → column copied as is, per kind (references are resolved separately).
FIELD_COLUMNS: dict[ImportKind, dict[str, str]] = {
    ImportKind.COMPANIES: {
        **{f: f for f in ("external_id", "name", "name_kana", "corporate_number", "industry")},
        **{f: f for f in ("employee_count", "phone", "website", "postal_code", "address")},
        **{f: f for f in ("status", "source", "notes")},
        "status_updated_on": "status_updated_at",
    },
    ImportKind.CONTACTS: {
        f: f
        for f in (
            *("external_id", "name", "name_kana", "department", "title", "email"),
            *("phone", "mobile", "source", "acquired_on", "hearing_notes"),
        )
    },
    ImportKind.DEALS: {
        f: f
        for f in (
            *("external_id", "name", "phase", "outcome", "lost_reason", "amount"),
            *("product", "opened_on", "closed_on", "notes"),
        )
    },
    ImportKind.ORDERS: {
        f: f
        for f in (
            *("external_id", "product", "product_line", "ordered_on", "amount"),
            *("contract_start", "contract_end", "cancelled_on", "notes"),
        )
    },
    ImportKind.ACTIVITIES: {
        f: f for f in ("external_id", "kind", "occurred_at", "subject", "note")
    },
    ImportKind.EVENTS: {
        f: f
        for f in (
            *("type", "occurred_at", "visitor_id", "campaign", "url", "document"),
            *("webinar", "watch_seconds", "payload"),
        )
    },
    ImportKind.SURVEYS: {f: f for f in ("survey", "answered_at", "nps_score", "comment")},
}
_TABLES = {
    ImportKind.COMPANIES: "companies",
    ImportKind.CONTACTS: "contacts",
    ImportKind.DEALS: "deals",
    ImportKind.ORDERS: "orders",
    ImportKind.ACTIVITIES: "sales_activities",
    ImportKind.EVENTS: "engagement_events",
    ImportKind.SURVEYS: "survey_answers",
}
# An empty cell in these NOT NULL columns means the column's default.
_DEFAULTS = {"status": "unknown", "outcome": "open"}
_COMPANY_FIELDS = ("company_external_id", "company_name")
_CONTACT_FIELDS = ("contact_external_id", "contact_email")


def table_for(kind: ImportKind) -> Table:
    return Base.metadata.tables[_TABLES[kind]]


def dialect_insert(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT for the session's backend (SQLite or PostgreSQL)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise InvalidInputError(f"import supports SQLite and PostgreSQL, not {name}")


class RowRejected(Exception):
    """A reference in a row that points at nothing."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.reason)
        self.error = error


@dataclass
class BatchOutcome:
    """What one batch did (or, when not writing, would have done)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    companies_created: int = 0
    consents_created: int = 0


class References:
    """Codes, names and emails → ids, loaded once per import for the references a file uses."""

    def __init__(self, session: Session, mapping: ColumnMapping) -> None:
        self.session = session
        self.mapping = mapping
        used = set(mapping.fields.values())
        c = Base.metadata.tables["companies"]
        p = Base.metadata.tables["contacts"]
        self.company_by_code: dict[str, int] = {}
        self.company_by_name: dict[str, int] = {}
        # A record merged into another resolves to its survivor: re-importing a file after a
        # merge (名寄せ) attaches its rows to the company and contact that live on.
        if used & set(_COMPANY_FIELDS):
            live = func.coalesce(c.c.merged_into_id, c.c.id)
            for cid, code, name in session.execute(
                select(live, c.c.external_id, c.c.name).order_by(c.c.id.desc())
            ):  # descending, so the oldest company wins a shared code or name
                if code is not None:
                    self.company_by_code[code] = cid
                self.company_by_name[name] = cid
        self.contact_by_code: dict[str, tuple[int, int | None]] = {}
        self.contact_by_email: dict[str, tuple[int, int | None]] = {}
        if used & set(_CONTACT_FIELDS):
            survivor = p.alias("survivor")
            query = select(survivor.c.id, survivor.c.company_id, p.c.external_id, p.c.email).join(
                survivor, survivor.c.id == func.coalesce(p.c.merged_into_id, p.c.id)
            )
            for pid, company_id, code, email in session.execute(query.order_by(p.c.id.desc())):
                if code is not None:
                    self.contact_by_code[code] = (pid, company_id)
                if email is not None:
                    self.contact_by_email[email.lower()] = (pid, company_id)
        self.deal_by_code: dict[str, int] = {}
        if "deal_external_id" in used:
            d = Base.metadata.tables["deals"]
            deals = select(d.c.id, d.c.external_id).where(d.c.external_id.is_not(None))
            for deal_id, code in session.execute(deals.order_by(d.c.id.desc())):
                self.deal_by_code[code] = deal_id
        self.user_by_email: dict[str, int] = {}
        if used & {"owner_email", "user_email"}:
            u = Base.metadata.tables["users"]
            for uid, email in session.execute(select(u.c.id, u.c.email)):
                self.user_by_email[email.lower()] = uid
        self._placeholder = 0

    def _error(self, row: ParsedRow, field: str, reason: str) -> RowRejected:
        value = row.values[field]
        return RowRejected(
            RowError(row.line, field, str(value), reason, self.mapping.header_for(field))
        )

    def contact(self, row: ParsedRow) -> tuple[int, int | None] | None:
        """(contact id, its company id) for the row's contact reference, if it has one."""
        values = row.values
        if code := values.get("contact_external_id"):
            found = self.contact_by_code.get(code)
            if found is None:
                raise self._error(row, "contact_external_id", "この担当者コードの担当者がいません")
            return found
        if email := values.get("contact_email"):
            found = self.contact_by_email.get(email.lower())
            if found is None:
                raise self._error(row, "contact_email", "このメールアドレスの担当者がいません")
            return found
        return None

    def company(self, row: ParsedRow) -> int | str | None:
        """The row's company id; a name (str) when the company must be created from its name."""
        values = row.values
        if code := values.get("company_external_id"):
            found = self.company_by_code.get(code)
            if found is None:
                raise self._error(row, "company_external_id", "この顧客コードの取引先がありません")
            return found
        if name := values.get("company_name"):
            return self.company_by_name.get(name, cast(str, name))
        return None

    def deal(self, row: ParsedRow) -> int | None:
        if code := row.values.get("deal_external_id"):
            found = self.deal_by_code.get(code)
            if found is None:
                raise self._error(row, "deal_external_id", "この商談コードの商談がありません")
            return found
        return None

    def user(self, row: ParsedRow, field: str) -> int | None:
        if email := row.values.get(field):
            found = self.user_by_email.get(email.lower())
            if found is None:
                raise self._error(row, field, "このメールアドレスのユーザーがいません")
            return found
        return None

    def create_companies(self, names: set[str], *, write: bool) -> int:
        """Create the companies known only by name; returns how many were (or would be) new."""
        names = {n for n in names if n not in self.company_by_name}
        if not names:
            return 0
        if not write:
            for name in sorted(names):  # negative ids stand for companies a dry run would create
                self._placeholder -= 1
                self.company_by_name[name] = self._placeholder
            return len(names)
        table = Base.metadata.tables["companies"]
        keys = {company_key_for_name(n): n for n in names}
        insert = dialect_insert(self.session, table).on_conflict_do_nothing(
            index_elements=["import_key"]
        )
        self.session.execute(insert, [{"import_key": k, "name": n} for k, n in keys.items()])
        query = select(table.c.id, table.c.import_key).where(table.c.import_key.in_(keys))
        for cid, key in self.session.execute(query):
            self.company_by_name[keys[key]] = cid
        return len(names)


class Writer:
    """Resolves and writes the batches of one import."""

    def __init__(self, session: Session, kind: ImportKind, mapping: ColumnMapping) -> None:
        self.session = session
        self.kind = kind
        self.table = table_for(kind)
        self.refs = References(session, mapping)
        used = set(mapping.fields.values())
        self.direct = [(f, col) for f, col in FIELD_COLUMNS[kind].items() if f in used]
        columns = {c.name for c in self.table.columns}
        # Reference columns this file sets: a file without them leaves them as they are.
        self.resolvers: list[tuple[str, Callable[[ParsedRow, dict[str, Any]], Any]]] = []
        contact_used = bool(used & set(_CONTACT_FIELDS)) and "contact_id" in columns
        if "company_id" in columns and (used & set(_COMPANY_FIELDS) or contact_used):
            self.resolvers.append(("company_id", self._company_id))
        if contact_used:
            self.resolvers.append(("contact_id", self._contact_id))
        if "deal_external_id" in used:
            self.resolvers.append(("deal_id", self._deal_id))
        for source, column in (("owner_email", "owner_id"), ("user_email", "user_id")):
            if source in used and column in columns:
                self.resolvers.append((column, partial(self._user_id, field=source)))

    def _user_id(self, row: ParsedRow, _cols: dict[str, Any], *, field: str) -> int | None:
        return self.refs.user(row, field)

    def _deal_id(self, row: ParsedRow, _cols: dict[str, Any]) -> int | None:
        return self.refs.deal(row)

    def _contact_id(self, row: ParsedRow, _cols: dict[str, Any]) -> int | None:
        found = self.refs.contact(row)
        return None if found is None else found[0]

    def _company_id(self, row: ParsedRow, _cols: dict[str, Any]) -> int | str | None:
        company = self.refs.company(row)
        if company is None and self.kind is not ImportKind.CONTACTS:
            contact = self.refs.contact(row)  # a row naming only its contact belongs to its company
            company = None if contact is None else contact[1]
        if company is None and self.kind is ImportKind.ORDERS:
            raise RowRejected(
                RowError(row.line, "company_name", "", "取引先 (顧客コードか会社名) が必要です")
            )
        return company

    def columns(self, row: ParsedRow) -> dict[str, Any]:
        """The table row for a parsed row; raises RowRejected for a dangling reference."""
        values = row.values
        cols = {col: values[f] for f, col in self.direct}
        for col, default in _DEFAULTS.items():
            if col in cols and cols[col] is None:
                cols[col] = default
        for column, resolve in self.resolvers:
            cols[column] = resolve(row, cols)
        return cols

    def resolve(
        self, batch: Sequence[ParsedRow]
    ) -> tuple[list[tuple[ParsedRow, dict[str, Any]]], list[tuple[ParsedRow, RowError]]]:
        """Table rows for a batch, and the rows whose references point at nothing."""
        good: list[tuple[ParsedRow, dict[str, Any]]] = []
        bad: list[tuple[ParsedRow, RowError]] = []
        for row in batch:
            try:
                good.append((row, self.columns(row)))
            except RowRejected as rejected:
                bad.append((row, rejected.error))
        return good, bad

    def create_named_companies(
        self, rows: list[tuple[ParsedRow, dict[str, Any]]], *, write: bool
    ) -> int:
        """Create companies rows name but that do not exist yet, and point the rows at them."""
        names = {c["company_id"] for _, c in rows if isinstance(c.get("company_id"), str)}
        if not names:
            return 0
        created = self.refs.create_companies(cast(set[str], names), write=write)
        for _, cols in rows:
            if isinstance(cols.get("company_id"), str):
                cols["company_id"] = self.refs.company_by_name[cols["company_id"]]
        return created


class EntityWriter(Writer):
    """Companies, contacts, deals, orders, activities and surveys: upsert by import_key.

    Rows are compared with what is stored before writing, so an unchanged row is
    not rewritten (its updated_at stays) and the report can say what changed.
    Within one file the last row with a key wins.
    """

    def __init__(
        self, session: Session, kind: ImportKind, mapping: ColumnMapping, *, filename: str
    ) -> None:
        super().__init__(session, kind, mapping)
        self.filename = filename
        self.value_columns: list[str] | None = None
        self.stored: dict[str, tuple[int | None, tuple[Any, ...]]] = {}
        self.seen: set[str] = set()
        used = set(mapping.fields.values())
        self.consents = self.kind is ImportKind.CONTACTS and "consent_basis" in used
        self.consent_keys: set[tuple[str, str]] = set()
        if self.consents:
            c = Base.metadata.tables["consent_records"]
            p = Base.metadata.tables["contacts"]
            query = select(p.c.import_key, c.c.basis).join(p, p.c.id == c.c.contact_id)
            self.consent_keys = {(key, basis) for key, basis in session.execute(query)}

    def _load(self, columns: list[str]) -> None:
        """What is stored now for these columns, by import_key."""
        self.value_columns = columns
        t = self.table
        query = select(t.c.import_key, t.c.id, *(t.c[c] for c in columns))
        self.stored = {key: (rid, tuple(rest)) for key, rid, *rest in self.session.execute(query)}

    def write(self, rows: list[tuple[ParsedRow, dict[str, Any]]], *, write: bool) -> BatchOutcome:
        outcome = BatchOutcome(companies_created=self.create_named_companies(rows, write=write))
        if not rows:
            return outcome
        if self.value_columns is None:
            self._load(sorted(rows[0][1]))
        columns = cast(list[str], self.value_columns)
        dirty: dict[str, dict[str, Any]] = {}
        for row, cols in rows:
            key = cast(str, row.key)
            if key in self.seen:
                outcome.duplicates += 1
            self.seen.add(key)
            values = tuple(cols[c] for c in columns)
            before = self.stored.get(key)
            if before is None:
                outcome.inserted += 1
            elif before[1] == values:
                outcome.unchanged += 1
                continue
            else:
                outcome.updated += 1
            self.stored[key] = (None if before is None else before[0], values)
            dirty[key] = {"import_key": key, **cols}
        if write and dirty:
            self._upsert(list(dirty.values()))
        if self.consents:
            outcome.consents_created = self._record_consents(rows, write=write)
        return outcome

    def _upsert(self, params: list[dict[str, Any]]) -> None:
        t = self.table
        insert = dialect_insert(self.session, t)
        changes = {c: insert.excluded[c] for c in params[0] if c != "import_key"}
        changes["updated_at"] = utcnow()
        statement = insert.on_conflict_do_update(
            index_elements=["import_key"], set_=changes
        ).returning(t.c.import_key, t.c.id)
        for key, rid in self.session.execute(statement, params):
            self.stored[key] = (rid, self.stored[key][1])

    def _record_consents(
        self, rows: Iterable[tuple[ParsedRow, dict[str, Any]]], *, write: bool
    ) -> int:
        """One consent record per contact and basis, whatever the number of imports."""
        new: list[dict[str, Any]] = []
        for row, _cols in rows:
            basis = row.values.get("consent_basis")
            key = cast(str, row.key)
            if basis in (None, "none") or (key, basis) in self.consent_keys:
                continue
            self.consent_keys.add((key, basis))
            on = row.values.get("consent_obtained_on") or row.values.get("acquired_on")
            new.append(
                {
                    "contact_id": self.stored[key][0],
                    "basis": basis,
                    "obtained_at": datetime.combine(on, time(), JST) if on else utcnow(),
                    "method": f"import {self.filename}"[:200],
                }
            )
        if write and new:
            self.session.execute(Base.metadata.tables["consent_records"].insert(), new)
        return len(new)


class EventWriter(Writer):
    """Engagement events: insert, skipping any whose dedupe_key is already stored.

    On SQLite the rows go to the driver as ready tuples (one executemany per batch):
    SQLAlchemy's per-value bind processing was half the cost of a million-row import.
    sqlite_datetime() stores exactly what SQLAlchemy would (a test pins that).
    """

    COLUMNS = (
        *("dedupe_key", "type", "occurred_at", "contact_id", "visitor_id", "campaign"),
        *("url", "document", "webinar", "watch_seconds", "payload"),
    )

    def __init__(self, session: Session, kind: ImportKind, mapping: ColumnMapping) -> None:
        super().__init__(session, kind, mapping)
        t = self.table
        # An empty payload is SQL NULL, not the JSON text 'null'.
        params = {
            c: bindparam(c, type_=JSON(none_as_null=True)) if c == "payload" else bindparam(c)
            for c in self.COLUMNS
        }
        self.insert = (
            dialect_insert(session, t)
            .values(params)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        self.direct_sql: str | None = None
        dialect = session.get_bind().dialect
        if dialect.name == "sqlite":
            compiled = self.insert.compile(dialect=dialect)
            assert tuple(compiled.positiontup or ()) == self.COLUMNS  # tuples follow COLUMNS
            self.direct_sql = compiled.string
        self.count_before = session.scalar(select(func.count()).select_from(t)) or 0
        self.last_id_before = last_event_id(session)
        self.seen: set[bytes] = set()  # dry runs only: keys met earlier in the file

    def columns(self, row: ParsedRow) -> Any:
        """The insert parameters: a tuple in COLUMNS order for SQLite, else a dict."""
        values = row.values
        contact = self.refs.contact(row)
        get = values.get
        payload = get("payload")
        if self.direct_sql is not None:
            return (
                row.key,
                values["type"],
                sqlite_datetime(values["occurred_at"]),
                None if contact is None else contact[0],
                get("visitor_id"),
                get("campaign"),
                get("url"),
                get("document"),
                get("webinar"),
                get("watch_seconds"),
                None if payload is None else json.dumps(payload),
            )
        return {
            "dedupe_key": row.key,
            "type": values["type"],
            "occurred_at": values["occurred_at"],
            "contact_id": None if contact is None else contact[0],
            "visitor_id": get("visitor_id"),
            "campaign": get("campaign"),
            "url": get("url"),
            "document": get("document"),
            "webinar": get("webinar"),
            "watch_seconds": get("watch_seconds"),
            "payload": payload,
        }

    def write(self, rows: list[tuple[ParsedRow, dict[str, Any]]], *, write: bool) -> BatchOutcome:
        if not rows:
            return BatchOutcome()
        if write:
            params = [cols for _, cols in rows]
            if self.direct_sql is not None:
                self.session.connection().exec_driver_sql(self.direct_sql, params)
            else:
                self.session.execute(self.insert, params)
            return BatchOutcome()  # counted once at the end: see inserted_total()
        keys = [cast(bytes, row.key) for row, _ in rows]
        t = self.table
        stored = set(self.session.scalars(select(t.c.dedupe_key).where(t.c.dedupe_key.in_(keys))))
        outcome = BatchOutcome()
        for key in keys:
            if key in stored or key in self.seen:
                outcome.unchanged += 1
            else:
                outcome.inserted += 1
            self.seen.add(key)
        return outcome

    def inserted_total(self) -> int:
        """Events this import added (duplicates of stored events were skipped)."""
        now = self.session.scalar(select(func.count()).select_from(self.table)) or 0
        return now - self.count_before


def sqlite_datetime(moment: datetime) -> str:
    """How SQLAlchemy stores an aware datetime in a SQLite UTCDateTime column: naive UTC text."""
    return moment.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def writer_for(
    session: Session, kind: ImportKind, mapping: ColumnMapping, *, filename: str
) -> EntityWriter | EventWriter:
    """The writer for a kind, with its reference maps loaded."""
    if kind is ImportKind.EVENTS:
        return EventWriter(session, kind, mapping)
    return EntityWriter(session, kind, mapping, filename=filename)


@dataclass
class RejectedRow:
    """A row that was not imported, with its original cells and every reason."""

    line: int
    cells: dict[str, object]
    errors: list[RowError]


@dataclass
class ImportReport:
    """What an import read, wrote and rejected (or, in a dry run, would have)."""

    kind: ImportKind
    file: str
    format: str
    encoding: str | None
    dry_run: bool
    headers: list[str]
    mapping: dict[str, str]  # header as written → field
    unmapped: list[str]
    warnings: list[str] = field(default_factory=list)
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # already stored as the file says (events: duplicates skipped)
    rejected: int = 0
    duplicates: int = 0  # rows whose key an earlier row of the same file had: the last wins
    companies_created: int = 0  # companies created from a name alone (business-card lists)
    consents_created: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    preview: list[ParsedRow] = field(default_factory=list)
    run_id: int | None = None

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    @property
    def errors(self) -> list[RowError]:
        return [e for row in self.rejected_rows for e in row.errors]

    def add(self, outcome: BatchOutcome) -> None:
        self.inserted += outcome.inserted
        self.updated += outcome.updated
        self.unchanged += outcome.unchanged
        self.duplicates += outcome.duplicates
        self.companies_created += outcome.companies_created
        self.consents_created += outcome.consents_created

    def reject(self, line: int, cells: dict[str, object], errors: list[RowError]) -> None:
        self.rejected += 1
        if len(self.rejected_rows) < KEPT_REJECTS:
            self.rejected_rows.append(RejectedRow(line, cells, errors))


class ImportRejected(MezameError):
    """Some rows are bad and skip_invalid was not given: the caller must roll back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{report.file}: {report.rejected} 行にエラーがあります。何も書き込んでいません"
        )
        self.report = report


def read_mapping(text: str, *, kind: ImportKind) -> dict[str, str | None]:
    """A column mapping from YAML or JSON text (docs/import-mapping.example.yaml)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"マッピングを YAML として読めません: {exc}") from None
    return mapping_from_document(document, kind)


def import_file(
    session: Session,
    *,
    kind: ImportKind,
    path: Path,
    mapping: Mapping[str, str | None] | None = None,
    encoding: str = "auto",
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    filename: str | None = None,
    user_id: int | None = None,
) -> ImportReport:
    """Import a CSV or .xlsx file of one kind; raises ImportRejected if a row is bad."""
    kind = ImportKind(kind)
    name = filename or path.name
    started = utcnow()
    with _cyclic_gc_paused(), open_table(path, encoding=encoding) as table:
        columns = resolve_mapping(kind, table.headers, mapping)
        report = ImportReport(
            kind=kind,
            file=name,
            format=table.format,
            encoding=table.encoding,
            dry_run=dry_run,
            headers=table.headers,
            mapping=dict(columns.fields),
            unmapped=columns.unmapped,
            warnings=columns.warnings,
        )
        validator = RowValidator(kind, columns)
        writer = writer_for(session, kind, columns, filename=name)
        batch: list[ParsedRow] = []
        batch_cells: list[dict[str, object]] = []  # the original cells, for rejected rows
        attempted = 0

        def flush_batch() -> None:
            nonlocal attempted
            good, bad = writer.resolve(batch)
            if bad:
                cells = {row.line: c for row, c in zip(batch, batch_cells, strict=True)}
                for row, error in bad:
                    report.reject(row.line, cells[row.line], [error])
            # After the first bad row nothing more is written (the caller will roll back),
            # but every later row is still checked so the report lists them all.
            write = not dry_run and (skip_invalid or report.rejected == 0)
            report.add(writer.write(good, write=write))
            attempted += len(good)
            batch.clear()
            batch_cells.clear()
            if progress is not None:
                progress(*table.progress())

        validate = validator.validate
        for line, cells, extra_cells in table.rows():
            result = validate(line, cells, extra_cells)
            if isinstance(result, list):
                report.reject(line, cells, result)
                continue
            batch.append(result)
            batch_cells.append(cells)
            if len(batch) >= BATCH_ROWS:
                if not report.preview:
                    report.preview = batch[:PREVIEW_ROWS]
                flush_batch()
        if not report.preview:
            report.preview = batch[:PREVIEW_ROWS]
        flush_batch()
        report.rows_total = table.rows_read
        # Reference errors are found a batch later than cell errors: report in file order.
        report.rejected_rows.sort(key=lambda rejected: rejected.line)
        if progress is not None:
            done, total = table.progress()
            progress(total or done, total)

    if report.rejected and not skip_invalid:
        raise ImportRejected(report)
    if isinstance(writer, EventWriter) and not dry_run:
        report.inserted = writer.inserted_total()
        report.unchanged = attempted - report.inserted
        note_activity_since(session, after_event_id=writer.last_id_before)
    if not dry_run:
        run = ImportRun(
            kind=kind.value,
            filename=name[:500],
            sha256=file_sha256(path),
            status="partial" if report.rejected else "succeeded",
            rows_total=report.rows_total,
            rows_written=report.written,
            rows_rejected=report.rejected,
            user_id=user_id,
            started_at=started,
            finished_at=utcnow(),
            errors=_error_summary(report) or None,
        )
        session.add(run)
        session.flush()
        report.run_id = run.id
    return report


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector while importing.

    A large import allocates millions of short-lived, acyclic objects; each full
    collection would rescan the reference maps, which cost a fifth of the run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def record_failed_run(
    session: Session,
    *,
    kind: ImportKind,
    path: Path,
    problem: str,
    report: ImportReport | None = None,
    filename: str | None = None,
    user_id: int | None = None,
) -> ImportRun:
    """Record an import that was rolled back; call it in a fresh transaction after the rollback."""
    now = utcnow()
    run = ImportRun(
        kind=ImportKind(kind).value,
        filename=(filename or path.name)[:500],
        sha256=file_sha256(path) if path.exists() else "",
        status="failed",
        rows_total=report.rows_total if report else 0,
        rows_written=0,
        rows_rejected=report.rejected if report else 0,
        user_id=user_id,
        started_at=now,
        finished_at=now,
        errors="\n".join(filter(None, [problem, _error_summary(report) if report else ""])),
    )
    session.add(run)
    session.flush()
    return run


def file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _error_summary(report: ImportReport) -> str:
    errors = report.errors
    lines = [format_row_error(report.file, e) for e in errors[:RUN_ERRORS]]
    if report.rejected > len(report.rejected_rows) or len(errors) > RUN_ERRORS:
        lines.append(f"… ほか (不合格 {report.rejected} 行)")
    return "\n".join(lines)


def report_as_dict(report: ImportReport, *, max_errors: int | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data (for the API and for logs)."""
    errors = report.errors
    shown = errors if max_errors is None else errors[:max_errors]
    return {
        "kind": report.kind.value,
        "file": report.file,
        "format": report.format,
        "encoding": report.encoding,
        "dry_run": report.dry_run,
        "headers": report.headers,
        "mapping": report.mapping,
        "unmapped": report.unmapped,
        "warnings": report.warnings,
        "rows_total": report.rows_total,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "duplicates": report.duplicates,
        "companies_created": report.companies_created,
        "consents_created": report.consents_created,
        "errors": [
            {
                "line": e.line,
                "field": e.field,
                "column": e.column,
                "value": e.value,
                "reason": e.reason,
            }
            for e in shown
        ],
        "errors_total": len(errors),
        "preview": [{"line": p.line, "values": p.values} for p in report.preview],
        "run_id": report.run_id,
    }
