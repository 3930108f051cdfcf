#!/usr/bin/env python3
"""Reads a NACHA file with achkit (PyPI achkit==0.2.0), a parser written independently of ours,
and prints what it found as JSON, so a test can compare it with what our builder says it wrote.

    python3 -m venv target/pyenv && target/pyenv/bin/pip install achkit==0.2.0
    target/pyenv/bin/python tests/tools/ach_reader.py FILE.ach

Prints one JSON object:
    {"entryCount": int, "totalCredit": "cents as a digit string", "totalCreditDecimal": "dollars.cents",
     "totalDebit": "cents", "entryHash": "10 digits", "batchCount": int, "blockCount": int,
     "traceNumbers": [str], "transactionCodes": [int], "valid": bool, "errors": [str]}
totalCredit is in cents (as the file carries it); totalCreditDecimal is the same in dollars.
Exit status: 0 when achkit read the file and found no error, 1 when it found errors (still
printed), 2 when it could not read the file at all. Only the local parser and validator are
used; achkit's hosted-API client is never touched (nothing leaves the machine).
"""
import json
import sys

from achkit import parse, validate


def main(path: str) -> int:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        print(json.dumps({"valid": False, "errors": [f"not ASCII: {e}"]}))
        return 2
    try:
        parsed = parse(text)
    except Exception as e:  # achkit raises AchError with a code
        print(json.dumps({"valid": False, "errors": [f"{getattr(e, 'code', 'PARSE_ERROR')}: {e}"]}))
        return 2
    report = validate(text)
    errors = [f"{e['code']}: {e['message']}" for e in report["errors"]]
    entries = [e for b in parsed["batches"] for e in b["entries"]]
    control = parsed.get("control") or {}
    credit = control.get("total_credit", 0)
    out = {
        "entryCount": control.get("entry_addenda_count", len(entries)),
        "totalCredit": str(credit),
        "totalCreditDecimal": f"{credit // 100}.{credit % 100:02d}",
        "totalDebit": str(control.get("total_debit", 0)),
        "entryHash": control.get("entry_hash", ""),
        "batchCount": control.get("batch_count", len(parsed["batches"])),
        "blockCount": control.get("block_count", 0),
        "traceNumbers": [e["trace_number"] for e in entries],
        "transactionCodes": [e["txn_code"] for e in entries],
        "valid": report["ok"],
        "errors": errors,
    }
    print(json.dumps(out))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: ach_reader.py FILE.ach", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
