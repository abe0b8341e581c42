"""POST /api/v1/import/{kind}: the CLI's import over HTTP, same validation, errors as JSON."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mezame.api.deps import DbSession, MarketingUser
from mezame.errors import InvalidInputError
from mezame.ingest.fields import ImportKind
from mezame.ingest.service import (
    ImportRejected,
    ImportReport,
    import_file,
    read_mapping,
    record_failed_run,
    report_as_dict,
)

router = APIRouter(prefix="/import", tags=["import"])

RESPONSE_ERRORS = 1_000  # errors listed in one response; errors_total counts them all


class RowErrorOut(BaseModel):
    line: int = Field(description="Line in the file (CSV: physical line; .xlsx: row number)")
    field: str | None = Field(description="Field name; null when the whole row is wrong")
    column: str | None = Field(description="The column header as written in the file")
    value: str
    reason: str


class PreviewRowOut(BaseModel):
    line: int
    values: dict[str, Any]


class ImportReportOut(BaseModel):
    """What the import read, wrote and rejected (a dry run says what it would write)."""

    kind: ImportKind
    file: str
    format: str = Field(description="csv or xlsx")
    encoding: str | None = Field(description="utf-8-sig or cp932 for CSV; null for .xlsx")
    dry_run: bool
    headers: list[str]
    mapping: dict[str, str] = Field(description="Column header → field")
    unmapped: list[str] = Field(description="Columns that were not imported")
    warnings: list[str]
    rows_total: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    duplicates: int = Field(description="Rows whose key an earlier row had; the last one wins")
    companies_created: int = Field(description="Companies created from a company name alone")
    consents_created: int
    errors: list[RowErrorOut]
    errors_total: int
    preview: list[PreviewRowOut]
    run_id: int | None = Field(description="The import_runs row (null for a dry run)")


class ImportRejectedOut(BaseModel):
    """The file was refused and nothing was written."""

    detail: str
    kind: ImportKind
    file: str
    rows_total: int = 0
    rejected: int = 0
    errors: list[RowErrorOut] = []
    errors_total: int = 0
    run_id: int | None = None


@router.post(
    "/{kind}",
    response_model=ImportReportOut,
    responses={422: {"model": ImportRejectedOut, "description": "Rejected; nothing written"}},
    summary="Import a CSV or .xlsx file",
)
def import_upload(
    kind: ImportKind,
    user: MarketingUser,
    session: DbSession,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or CP932) or .xlsx")],
    mapping: Annotated[str | None, Form(description="YAML or JSON {column header: field}")] = None,
    encoding: Annotated[Literal["auto", "utf-8", "cp932"], Form()] = "auto",
    skip_invalid: Annotated[
        bool, Form(description="Write the good rows and return the bad ones")
    ] = False,
    dry_run: Annotated[bool, Form(description="Validate and preview only")] = False,
) -> Any:
    """All or nothing: if any row is bad, 422 lists every bad row and nothing is written."""
    user_id = user.id
    name = Path(file.filename or "upload.csv").name
    with tempfile.TemporaryDirectory(prefix="mezame-import-") as spool:
        path = Path(spool) / f"upload{Path(name).suffix[:10]}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        rejected_report: ImportReport | None = None
        try:
            columns = read_mapping(mapping, kind=kind) if mapping else None
            report = import_file(
                session,
                kind=kind,
                path=path,
                mapping=columns,
                encoding=encoding,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                filename=name,
                user_id=user_id,
            )
        except ImportRejected as rejected:
            problem, rejected_report = str(rejected), rejected.report
        except InvalidInputError as exc:
            problem = str(exc)
        else:
            return report_as_dict(report, max_errors=RESPONSE_ERRORS)
        # The request's session would commit on a normal return: roll back explicitly first.
        session.rollback()
        body: dict[str, Any] = {"detail": problem, "kind": kind, "file": name}
        if not dry_run:
            run = record_failed_run(
                session,
                kind=kind,
                path=path,
                problem=problem,
                report=rejected_report,
                filename=name,
                user_id=user_id,
            )
            body["run_id"] = run.id
    if rejected_report is not None:
        full = report_as_dict(rejected_report, max_errors=RESPONSE_ERRORS)
        body |= {k: full[k] for k in ("rows_total", "rejected", "errors", "errors_total")}
    return JSONResponse(jsonable_encoder(ImportRejectedOut(**body)), status_code=422)
