"""Schemathesis hooks for the OpenAPI fuzz test (tests/api/fuzz.rs).

Generated requests mostly die at a 400 or a 404: a random payout id names no payout, a random
session is no session. These hooks seed them with the real things the test created, read from
the JSON file named by PAYOUT_FUZZ_SEEDS:

- path parameters also name a real payment file (a prenote file the test made);
- the Authorization header: one of the real sessions (admins of each role, members, the payee),
  or none at all now and then;
- path parameters: a real payout id (one in each state) or a real member's user id, most of the
  time, for the cases meant to be valid;
- bodies meant to be valid: now and then a body the business rules accept (real member ids to
  create payouts for, sane payment dates, plausible bank details and W-9s), so the run reaches
  the rules behind the parsers.

Only positive cases get real ids and bodies: a case built to be invalid stays invalid.
"""

import datetime
import json
import os
import random

import schemathesis
from schemathesis.generation import GenerationMode

with open(os.environ["PAYOUT_FUZZ_SEEDS"], encoding="utf-8") as f:
    SEEDS = json.load(f)

RNG = random.Random(int(os.environ.get("PAYOUT_FUZZ_SEED", "1")))


def _positive(case):
    meta = getattr(case, "meta", None)
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


def _moment(minutes=0):
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _valid_body(path):
    """A body the rules of `path` can accept (whether they do depends on the payout's state)."""
    if path == "/api/payouts":
        return {"userIds": RNG.sample(SEEDS["userIds"], k=RNG.choice([1, 1, 2]))}
    if path.endswith("/mark-sent"):
        return {"sentDate": _moment(1), "expectedArrivalDate": _moment(3 * 24 * 60), "trackingNumber": "FUZZ-1"}
    if path.endswith("/confirm"):
        return {"completedDate": _moment(2), "confirmationNumber": "FUZZ-2"}
    if path.endswith("/mark-failed"):
        return {"reason": "Returned by the receiving bank", "returnCode": RNG.choice(["R01", "R02", "R03"])}
    if path.endswith("/reject") or path.endswith("/cancel"):
        return {"reason": "Fuzzed reason"}
    if path.endswith("/approve"):
        return {"comment": "Looks right"}
    if path in ("/api/payment-files/ach", "/api/payment-files/ach-prenote", "/api/payment-files/positive-pay"):
        return {"payoutIds": RNG.sample(SEEDS["payoutIds"], k=RNG.choice([1, 1, 2]))}
    if path.endswith("/void"):
        return {"reason": "Fuzzed void"}
    if path.endswith("/bank-info"):
        return {
            "accountHolderName": "Fuzz Member",
            "routingNumber": RNG.choice(["021000021", "011000015"]),
            "accountNumber": RNG.choice(["000123456789", "99887766"]),
            "accountType": RNG.choice(["checking", "savings"]),
            "bankName": "First Bank",
        }
    if path.endswith("/tax-info"):
        return {
            "legalName": "Fuzz Member",
            "tin": RNG.choice(["123-45-6789", "12-3456789"]),
            "tinType": "SSN",
            "addressLine1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "postalCode": "78701",
        }
    return None


@schemathesis.hook
def map_case(context, case):
    if not _positive(case):
        return case
    params = dict(case.path_parameters or {})
    changed = False
    if "payoutId" in params and RNG.random() < 0.85:
        params["payoutId"] = RNG.choice(SEEDS["payoutIds"])
        changed = True
    if "fileId" in params and RNG.random() < 0.85:
        params["fileId"] = RNG.choice(SEEDS["fileIds"])
        changed = True
    if "userId" in params and RNG.random() < 0.85:
        params["userId"] = RNG.choice(SEEDS["userIds"])
        changed = True
    if changed:
        case.path_parameters = params
    if case.method.upper() == "POST" and RNG.random() < 0.4:
        body = _valid_body(case.operation.path)
        if body is not None:
            case.body = body
    return case


@schemathesis.hook
def before_call(context, case, **kwargs):
    token = RNG.choice(SEEDS["tokens"] + [None])
    # The session travels as a bearer token only: a generated session cookie would make every
    # change a cookie-authenticated one, refused without an Origin (CSRF_REJECTED).
    case.cookies = {}
    if case.headers is None:
        case.headers = {}
    case.headers.pop("Cookie", None)
    if token is None:
        case.headers.pop("Authorization", None)
    else:
        case.headers["Authorization"] = f"Bearer {token}"
