"""`mezame model bgnbd`: the published CDNOW fit from a summary file, predictions from a log."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mezame.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
SUMMARY = DATA / "cdnow_customers_summary.csv"
runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["model", "bgnbd", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


@pytest.fixture(scope="module")
def cdnow_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CDNOW_master (whitespace-separated, YYYYMMDD) as a CSV with dates written 1997/01/01."""
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    with gzip.open(DATA / "CDNOW_master.txt.gz", "rt") as source:
        next(source)  # its header
        rows = [["顧客ID", "購入日", "金額"]]
        for line in source:
            customer, day, _cds, dollars = line.split()
            rows.append([customer, f"{day[:4]}/{day[4:6]}/{day[6:]}", dollars])
    return write_csv(path, rows)


def test_summary_reproduces_the_published_cdnow_parameters() -> None:
    code, out, _ = run("--summary", SUMMARY, "--json")
    assert code == 0
    fit = json.loads(out)
    assert (round(fit["r"], 3), round(fit["alpha"], 3)) == (0.243, 4.414)
    assert (round(fit["a"], 3), round(fit["b"], 3)) == (0.793, 2.426)
    assert round(fit["loglik"], 1) == -9582.4
    assert fit["n"] == 2357 and fit["converged"] is True
    # zbar is the monetary value: Gamma-Gamma too (Fader, Hardie & Lee 2005b).
    assert (round(fit["p"], 2), round(fit["q"], 2), round(fit["gamma"], 2)) == (6.25, 3.74, 15.45)


def test_summary_with_lifetimes_column_names_and_no_spend(tmp_path: Path) -> None:
    with SUMMARY.open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    renamed = [["customer", "frequency", "recency", "T"]] + [row[:4] for row in rows[1:]]
    code, out, _ = run("--summary", write_csv(tmp_path / "s.csv", renamed), "--json")
    assert code == 0
    fit = json.loads(out)
    assert round(fit["r"], 3) == 0.243 and "p" not in fit


def test_summary_table_without_json() -> None:
    code, out, _ = run("--summary", SUMMARY)
    assert code == 0
    assert "alpha" in out and "4.41" in out


def test_transactions_write_predictions(cdnow_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.csv"
    code, stdout, _ = run(
        "--transactions", cdnow_log, "--customer-col", "顧客ID", "--date-col", "購入日",
        "--amount-col", "金額", "--calibration-end", "1997年9月30日",
        "--observation-end", "1998-06-30", "--period", "week", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, stdout
    fit = json.loads(stdout)
    assert fit["n"] == 23_570 and fit["converged"] and fit["spend_converged"]
    with out.open(encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 23_570
    assert list(rows[0]) == [
        "customer_id", "frequency", "recency", "T", "p_alive", "expected_purchases",
        "frequency_holdout", "monetary_value", "expected_average_spend",
    ]  # fmt: skip
    by_id = {row["customer_id"]: row for row in rows}
    # Customer 00004 bought in four distinct weeks up to 1997-09-30, the last 30 weeks after
    # the first (lifetimes' summary_data_from_transaction_data gives the same).
    assert by_id["00004"]["frequency"] == "2" and by_id["00004"]["recency"] == "30"
    assert all(0 <= float(row["p_alive"]) <= 1 for row in rows)
    # The model's forecast of the 39-week holdout is near what happened.
    predicted = sum(float(row["expected_purchases"]) for row in rows)
    actual = sum(int(row["frequency_holdout"]) for row in rows)
    assert abs(predicted - actual) / actual < 0.15


def test_predictions_csv_neutralises_formulas(tmp_path: Path) -> None:
    log = write_csv(
        tmp_path / "log.csv",
        [
            ["customer_id", "date"],
            ["=HYPERLINK(1)", "2026-01-05"],
            ["=HYPERLINK(1)", "2026-03-02"],
            ["A", "2026-01-12"],
            ["A", "2026-02-09"],
            ["A", "2026-04-06"],
            ["B", "2026-02-02"],
        ],
    )
    out = tmp_path / "p.csv"
    assert run("--transactions", log, "--out", out)[0] == 0
    with out.open(encoding="utf-8-sig") as stream:
        ids = [row["customer_id"] for row in csv.DictReader(stream)]
    assert "'=HYPERLINK(1)" in ids and "=HYPERLINK(1)" not in ids


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["x", "t_x"], ["1", "2"]], "s.csv:1: 列 'T' がありません"),
        (
            [["x", "t_x", "T"], ["1", "2", "3"], ["1", "abc", "3"]],
            "s.csv:3: 列 't_x': 数値ではありません",
        ),
        ([["x", "t_x", "T"], ["1", "2", "3"], ["1", "", "3"]], "s.csv:3: 列 't_x': 空です"),
        (
            [["x", "t_x", "T"], ["0", "0", "3"], ["2", "5", "3"]],
            "s.csv:3: 最終購入時点 t_x が観測期間 T",
        ),
        ([["x", "t_x", "T"]], "s.csv: データ行がありません"),
    ],
)
def test_bad_summary_names_file_line_and_column(
    tmp_path: Path, rows: list[list[str]], message: str
) -> None:
    code, out, err = run("--summary", write_csv(tmp_path / "s.csv", rows), "--json")
    assert code == 2 and out == ""
    assert message in err


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["customer_id", "day"], ["A", "2026-01-01"]], "t.csv:1: 列 'date' がありません"),
        (
            [["customer_id", "date"], ["A", "2026-01-01"], ["C", "昨日"], ["B", "2026/13/01"]],
            "t.csv:3: 列 'date': 日付として読めません",  # the first bad line, not the first sorted
        ),
        (
            [["customer_id", "date"], ["A", "2026-01-01"], ["B", "2026/13/01"]],
            "t.csv:3: 列 'date': 存在しない日付です",
        ),
        (
            [["customer_id", "date"], ["A", "2026-01-01"], ["A", ""]],
            "t.csv:3: 列 'date': 日付が空です",
        ),
        (
            [["customer_id", "date"], ["A", "2026-01-01"], ["", "2026-01-02"]],
            "t.csv:3: 列 'customer_id': 顧客IDが空です",
        ),
    ],
)
def test_bad_transactions_name_file_line_and_column(
    tmp_path: Path, rows: list[list[str]], message: str
) -> None:
    code, _, err = run(
        "--transactions", write_csv(tmp_path / "t.csv", rows), "--out", tmp_path / "p.csv"
    )
    assert code == 2
    assert message in err
    assert not (tmp_path / "p.csv").exists()


def test_bad_amount_names_its_line(tmp_path: Path) -> None:
    log = write_csv(
        tmp_path / "t.csv", [["customer_id", "date", "amount"], ["A", "2026-01-01", "たくさん"]]
    )
    code, _, err = run("--transactions", log, "--amount-col", "amount", "--out", tmp_path / "p.csv")
    assert code == 2 and "t.csv:2: 列 'amount'" in err


def test_exactly_one_input_and_an_output_for_transactions(tmp_path: Path) -> None:
    assert run("--json")[0] == 2
    assert run("--summary", SUMMARY, "--transactions", SUMMARY)[0] == 2
    code, _, err = run("--transactions", SUMMARY)
    assert code == 2 and "--out" in err
    code, _, err = run(
        "--transactions", SUMMARY, "--out", tmp_path / "p.csv", "--calibration-end", "someday"
    )
    assert code == 2 and "--calibration-end" in err
