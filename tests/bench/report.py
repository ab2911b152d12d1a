#!/usr/bin/python3
"""report.py -- turn the result lines of tests/bench/run.sh into a table and
a CSV.

usage: report.py RAW CSV

RAW holds lines "R SECTION METRIC UNIT VALUE BASELINE_NAME BASELINE_VALUE"
(tests/bench/benchlib.h), one per figure and run.  For each (section,
metric) the table shows the median and the spread (min..max) over the
runs, the baseline's median, and the ratio value/baseline computed per run
(median and min..max), so a noisy machine moves both sides of the ratio
together.  Targets from the issue are shown as met / NOT met: a
measurement, never an assertion (the exit status does not depend on it).
"""
import csv
import statistics
import sys

# (section, metric) -> (what is compared, predicate on ratio or value, text)
TARGETS = {
    ("2-one-hop", "hop_rate"): ("ratio", lambda r: r >= 0.7, "ratio >= 0.7"),
    ("3-virtual-path", "load50_p99_added"):
        ("value", lambda v: v <= 200, "<= 200 us"),
    ("3-virtual-path", "path50_p99_added"):
        ("value", lambda v: v <= 200, "<= 200 us"),
    ("4-end-to-end", "virtual_msg_rate"):
        ("ratio", lambda r: r >= 0.9, "ratio >= 0.9"),
    ("5-memory", "rss_idle"): ("value", lambda v: v <= 4096, "<= 4 MiB"),
    ("6-size", "binary_stripped"): ("ratio", lambda r: r <= 1.0, "<= 2 MiB"),
    ("3-tls-cost", "path_saturation_tls"):
        ("ratio", lambda r: r >= 0.8, "ratio >= 0.8"),
    ("3-tls-cost", "path50_p99_tls_minus_plain"):
        ("value", lambda v: v <= 50, "<= 50 us"),
}


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1e6:
        return "%.3gM" % (x / 1e6)
    if a >= 1e4:
        return "%.1fk" % (x / 1e3)
    if a >= 100:
        return "%.0f" % x
    if a >= 1:
        return "%.2f" % x
    return "%.3g" % x


def main():
    raw, out = sys.argv[1], sys.argv[2]
    groups = {}
    order = []
    with open(raw) as f:
        for line in f:
            w = line.split()
            if len(w) != 7 or w[0] != "R":
                continue
            key = (w[1], w[2])
            if key not in groups:
                groups[key] = {"unit": w[3], "bname": w[5], "v": [], "b": []}
                order.append(key)
            g = groups[key]
            g["v"].append(float(w[4]))
            g["b"].append(float(w[6]) if w[5] != "-" else None)
    rows = []
    for key in sorted(order, key=lambda k: (k[0], order.index(k))):
        g = groups[key]
        v = g["v"]
        row = {
            "section": key[0], "metric": key[1], "unit": g["unit"],
            "runs": len(v), "median": statistics.median(v),
            "min": min(v), "max": max(v), "baseline": g["bname"],
            "baseline_median": None, "ratio_median": None,
            "ratio_min": None, "ratio_max": None, "target": "", "met": "",
        }
        if g["bname"] != "-":
            b = [x for x in g["b"] if x is not None]
            row["baseline_median"] = statistics.median(b)
            ratios = [x / y for x, y in zip(v, g["b"]) if y]
            if ratios:
                row["ratio_median"] = statistics.median(ratios)
                row["ratio_min"] = min(ratios)
                row["ratio_max"] = max(ratios)
        t = TARGETS.get(key)
        if t is not None:
            what, pred, text = t
            x = row["ratio_median"] if what == "ratio" else row["median"]
            row["target"] = text
            if x is not None:
                row["met"] = "met" if pred(x) else "NOT met"
        rows.append(row)
    cols = ["section", "metric", "unit", "runs", "median", "min", "max",
            "baseline", "baseline_median", "ratio_median", "ratio_min",
            "ratio_max", "target", "met"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else r[k]) for k in cols})
    hdr = ("%-15s %-26s %-10s %4s %9s %19s  %-22s %9s %7s %15s  %s" %
           ("section", "metric", "unit", "runs", "median", "min..max",
            "baseline", "base-med", "ratio", "ratio min..max", "target"))
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        spread = "%s..%s" % (fmt(r["min"]), fmt(r["max"]))
        rs = ("%.3f..%.3f" % (r["ratio_min"], r["ratio_max"])
              if r["ratio_median"] is not None else "")
        tgt = ("%s: %s" % (r["target"], r["met"])) if r["target"] else ""
        print("%-15s %-26s %-10s %4d %9s %19s  %-22s %9s %7s %15s  %s" % (
            r["section"], r["metric"], r["unit"], r["runs"],
            fmt(r["median"]), spread, r["baseline"],
            fmt(r["baseline_median"]),
            "%.3f" % r["ratio_median"] if r["ratio_median"] is not None else "",
            rs, tgt))


if __name__ == "__main__":
    main()
