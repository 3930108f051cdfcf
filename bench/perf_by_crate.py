#!/usr/bin/env python3
"""Sums a flat `perf report --sort dso,symbol -g none --stdio` by where the time went: the kernel,
libc's allocator, libc otherwise, and each Rust crate of the binary (the crate of the type a
method belongs to, e.g. `<hyper::proto::h1::... as Future>::poll` counts for hyper)."""
import re
import sys
from collections import defaultdict

totals = defaultdict(float)
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
    if not m:
        continue
    pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
    if kind == "k" or dso.startswith("[kernel"):
        key = "kernel (syscalls, scheduling, TCP)"
    elif dso.startswith("libc"):
        key = "libc malloc/free" if re.search(r"malloc|free|_int_|unlink_chunk|realloc|consolidate|tcache", sym) else "libc (memcpy, other)"
    elif dso == "payout-service":
        s = sym.lstrip("<&*( ").replace("dyn ", "")
        s = re.sub(r"^(mut |const )", "", s)
        crate = re.split(r"::|<| ", s, 1)[0] or "?"
        key = f"crate {crate}"
    else:
        key = dso
    totals[key] += pct
for key, pct in sorted(totals.items(), key=lambda kv: -kv[1])[:25]:
    print(f"{pct:6.2f}%  {key}")
