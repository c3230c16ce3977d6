#!/usr/bin/env python3
"""Deterministic benchmark data: N mobile numbers with tokens.

usage: gen_data.py N OUTDIR
writes OUTDIR/tokens.csv (header number,customer_token; numbers written in several forms, as
CRM exports are) and OUTDIR/numbers.txt (up to 100,000 of the numbers, 11 digits, for wrk)."""
import os, random, sys

n = int(sys.argv[1]); out = sys.argv[2]; os.makedirs(out, exist_ok=True)
rng = random.Random(20261126)
prefixes = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
            "156", "158", "159", "166", "176", "177", "178", "180", "181", "182", "185", "186", "187",
            "188", "189", "199"]
forms = [lambda d: d, lambda d: "+86 " + d[:3] + " " + d[3:7] + " " + d[7:], lambda d: "0086" + d,
         lambda d: d[:3] + "-" + d[3:7] + "-" + d[7:]]
seen = set()
with open(os.path.join(out, "tokens.csv"), "w") as csv, open(os.path.join(out, "numbers.txt"), "w") as nums:
    csv.write("number,customer_token\n")
    i = 0
    while i < n:
        digits = rng.choice(prefixes) + "%08d" % rng.randrange(10**8)
        if digits in seen:
            continue
        seen.add(digits)
        csv.write("%s,cust-%08d-%04x\n" % (forms[i % 4](digits) if i % 10 == 0 else digits, i, rng.randrange(1 << 16)))
        if i < 100000:
            nums.write(digits + "\n")
        i += 1
print("wrote", n, "rows to", out)
