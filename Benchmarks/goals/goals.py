#!/usr/bin/env python3
"""Runs the benches behind issue 18's goal rows and issue 13's figures and prints one markdown table.

Called by Benchmarks/goals/run.sh, which builds xgw and provides PostgreSQL; see README.md here.
Every figure is parsed from the output of the bench that measured it: a ratio is always the one
that bench measured in its own run (interleaved rounds, or its floor run beside it), never one
computed across two separate runs.

  goals.py [--quick] [--only ROW…]       run (needs XGW_BENCH_BINARY, XGW_GOALS_PG, XGW_GOALS_LOGS)
  goals.py --check [--quick] [--only ROW…]  only validate the arguments
  goals.py --list                        the rows, their goals and commands
"""
import os
import re
import shlex
import subprocess
import sys
import time

# --- The benches: each runs once and gives one or more rows. -------------------------------------
# command(quick) → (environment, argv for display and running); "xgw" stands for the binary and
# "$PG" for the database URL.


def pipeline(quick):
    extra = ["--records", "1000", "--floor-seconds", "1"] if quick else ["--records", "10000"]
    return {}, ["xgw", "bench", "pipeline", "--algorithms", "SM2-SM3", "--batches", "100", "--signing", "batch,single"] + extra


def sign_batch(quick):
    return {}, ["xgw", "bench", "sign", "--batch", "100", "--alg", "SM2-SM3"] + (["--seconds", "0.3"] if quick else [])


def http_run(env, quick):
    """Benchmarks/http/run.sh with `env`; --quick: 3 s instead of 30 (wrk) or 20 (500/s)."""
    return dict(env, **({"XGW_BENCH_SECONDS": "3"} if quick else {})), ["bash", "Benchmarks/http/run.sh"]


def http_sm2(quick):
    return http_run({"XGW_ALGORITHM": "SM2-SM3", "XGW_BENCH_PARTS": "throughput"}, quick)


def queue(quick):
    sizes = ["--messages", "1000", "--backlog", "10000"] if quick else ["--messages", "10000", "--backlog", "100000"]
    return {}, ["xgw", "bench", "queue"] + sizes + ["--database", "$PG"]


def postgres_e2e(quick):
    return {"XGW_BENCH_MESSAGES": "0", "XGW_BENCH_TWO_NODES": "0", "XGW_BENCH_DOC": "100",
            "XGW_BENCH_RECORDS": "500" if quick else "10000", "XGW_BENCH_ROUNDS": "2", "XGW_TEST_POSTGRES_URL": "$PG"}, \
        ["bash", "Benchmarks/postgres/run.sh"]


def http_pg_latency(quick):
    return http_run({"XGW_DATABASE": "$PG?schema=goals_latency", "XGW_BENCH_PARTS": "latency"}, quick)


def translate(quick):
    extra = ["--seconds", "0.2", "--rounds", "2", "--stream-records", "500"] if quick else ["--seconds", "2"]
    return {}, ["xgw", "bench", "translate", "--mappings", "Mappings", "--seeds", "seeds"] + extra


def sign_es256(quick):
    return {}, ["xgw", "bench", "sign", "--alg", "ES256", "--seconds", "1" if quick else "9", "--floor-seconds", "1"]


def federation(quick):
    records, rounds = ("1000", "1") if quick else ("10000", "2")
    return {}, ["xgw", "bench", "federation", "--records", records, "--documents-of", "100", "--algorithms", "ES256,SM2-SM3",
                "--rounds", rounds]


BENCHES = {
    "pipeline": pipeline, "sign-batch": sign_batch, "http-sm2": http_sm2, "queue": queue,
    "postgres-e2e": postgres_e2e, "http-pg-latency": http_pg_latency, "translate": translate,
    "sign-es256": sign_es256, "federation": federation,
}


class Unparsed(Exception):
    pass


def find(pattern, text, what):
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        raise Unparsed("no %s in the output" % what)
    return match


def num(text):
    return float(text.replace(",", ""))


def thousands(value):
    return "{:,.0f}".format(value)


# --- The rows: id, what (issue's words), goal, bench, parse(output) → (measured text, met). -------

def parse_pipeline(out):
    m = find(r"^SM2-SM3\s+batch\s+100\s+(\d+)\s+(\d+)\s+([\d.]+)\s", out, "SM2-SM3 batch 100 row")
    f = find(r"^SM2-SM3 floor: openssl speed \S+ signs (\d+)/s", out, "openssl speed floor")
    ratio = num(m.group(3))
    return "%.1f× (%s rec/s per core; openssl speed %s signs/s)" % (ratio, thousands(num(m.group(2))), thousands(num(f.group(1)))), ratio >= 8


def parse_verify_batch(out):
    m = find(r"^SM2-SM3\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s", out, "SM2-SM3 row")
    alone = find(r"verify alone \(envelopes already parsed\):.*ratio ([\d.]+)", out, "verify alone line")
    ratio = num(m.group(6))
    return "%.1f× with parsing (%s vs %s envelopes/s); verify alone %.1f×" % (
        ratio, thousands(num(m.group(5))), thousands(num(m.group(4))), num(alone.group(1))), ratio >= 10


def parse_http_sm2(out):
    m = find(r"^documents: (\d+) in ([\d.]+) s, [\d.]+ documents/s = (\d+) records/s, errors (\d+)", out, "wrk summary")
    p99 = find(r"^latency p99: ([\d.]+) ms", out, "wrk p99")
    rate, errors = num(m.group(3)), int(m.group(4))
    text = "%s records/s (p99 %s ms per document)" % (thousands(rate), p99.group(1))
    if errors:
        text += ", %d errors" % errors
    return text, rate >= 5000 and errors == 0


def queue_phase(out, phase, minimum):
    op = re.escape(phase)
    m = find(r"^postgres\s+%s\s+100\s+\d+\s+(\d+)\s.*?([\d.]+) of the floor" % op, out, "postgres %s row" % phase)
    f = find(r"^postgres floor\s+%s\s+100\s+\d+\s+(\d+)" % op, out, "postgres floor %s row" % phase)
    ratio, rate = num(m.group(2)), num(m.group(1))
    return "%.2f of the floor (xgw %s vs floor %s messages/s)" % (ratio, thousands(rate), thousands(num(f.group(1)))), \
        ratio >= 0.5 and rate >= minimum


def backlog(driver):
    def parse(out):
        m = find(r"^%s lease\+ack cost per message with (\d+) queued / with (\d+) queued \(in turns\): ([\d.]+)×" % driver,
                 out, "%s backlog line" % driver.replace("\\", ""))
        ratio = num(m.group(3))
        return "%.2f× (%s vs %s queued)" % (ratio, thousands(num(m.group(1))), thousands(num(m.group(2)))), ratio <= 1.5
    return parse


def parse_pg_vs_sqlite(out):
    m = find(r"^postgres / sqlite, 1 node, (\d+) round\(s\) in turns: ([\d.]+) \(postgres (\d+) records/s, sqlite (\d+)",
             out, "postgres / sqlite line")
    ratio = num(m.group(2))
    return "%.2f (PostgreSQL %s vs SQLite %s records/s, %s rounds in turns)" % (
        ratio, thousands(num(m.group(3))), thousands(num(m.group(4))), m.group(1)), ratio >= 0.8


def parse_pg_p99(out):
    m = find(r"^fixed rate (\d+)/s for (\d+) s: (\d+) requests, (\d+) errors, p50 ([\d.]+) ms, p90 [\d.]+ ms, p99 ([\d.]+) ms",
             out, "fixed-rate summary")
    p99, errors = num(m.group(6)), int(m.group(4))
    text = "%s ms (p50 %s ms, %s requests)" % (m.group(6), m.group(5), m.group(3))
    if errors:
        text += ", %d errors" % errors
    return text, p99 < 50 and errors == 0


def ratio_line(label, names, goal):
    """A `bench translate` comparison: its ratio line and the two per-core rates it divides."""
    def parse(out):
        m = find(r"^\s+%s\s+([\d.]+)\s+\(issue 18 goal" % re.escape(label), out, "'%s' line" % label)
        rates = [num(find(r"^\s+%s\s+(\d+) records/s per core" % re.escape(name), out, "'%s' line" % name).group(1))
                 for name in names]
        ratio = num(m.group(1))
        return "%.2f (%s vs %s records/s per core)" % (ratio, thousands(rates[0]), thousands(rates[1])), ratio >= goal
    return parse


def parse_es256(out):
    m = find(r"^ES256\s+\d+\s+\d+\s+(\d+)\s+(?:[\d.]+\s+){2}\d+\s+\d+\s+(?:[\d.]+\s+){2}(\d+)\s+([\d.]+)\s*$", out, "ES256 row")
    ratio = num(m.group(3))
    return "%.2f (seal %s/s, openssl speed %s/s)" % (ratio, thousands(num(m.group(1))), thousands(num(m.group(2)))), ratio >= 0.85


def federation_ratio(alg):
    def parse(out):
        m = find(r"^%s\s+one-node (\d+) records/s .*federated (\d+) records/s .*ratio federated/one-node ([\d.]+)" % re.escape(alg),
                 out, "%s ratio line" % alg)
        ratio = num(m.group(3))
        return "%.2f (federated %s vs one node %s records/s)" % (ratio, thousands(num(m.group(2))), thousands(num(m.group(1)))), \
            ratio >= 0.5
    return parse


def federation_p99(alg):
    def parse(out):
        m = find(r"^%s\s+paced runs .*?transfer renshi-node → xinsheng-node (\d+) batches, \d+ messages/batch, p50 ([\d.]+) ms, "
                 r"p99 ([\d.]+) ms" % re.escape(alg), out, "%s paced line" % alg)
        s = find(r"^%s\s+transfer renshi-node → xinsheng-node: \d+ batches, .*?p99 ([\d.]+) ms" % re.escape(alg), out,
                 "%s saturated transfer line" % alg)
        p99 = num(m.group(3))
        return "%.0f ms paced (p50 %.0f, %s batches); saturated p99 %.0f ms" % (p99, num(m.group(2)), m.group(1), num(s.group(1))), \
            p99 < 100
    return parse


ROWS = [
    ("pipeline-sm2", "#18 full pipeline, SM2-SM3, 100-record documents: records/s per core ÷ `openssl speed` sm2 signs/s",
     "≥ 8×", "pipeline", parse_pipeline),
    ("verify-batch", "#18 verifying a received batch of 100 SM2 envelopes vs one by one", "≥ 10×", "sign-batch", parse_verify_batch),
    ("http-sm2", "#18 HTTP end to end, 100-record documents, SM2-SM3 (default algorithm)", "≥ 5,000 records/s", "http-sm2",
     parse_http_sm2),
    ("pg-lease-ack", "#18 PostgreSQL lease+ack, batches of 100, vs its pgbench floor", "≥ 0.50 of the floor and ≥ 5,000/s", "queue",
     lambda out: queue_phase(out, "lease+ack", 5000)),
    ("pg-enqueue", "#18 PostgreSQL enqueue, batches of 100, vs its pgbench floor", "≥ 0.50 of the floor and ≥ 10,000/s", "queue",
     lambda out: queue_phase(out, "enqueue", 10000)),
    ("backlog-sqlite", "#18 lease+ack cost per message, 10× the backlog, SQLite", "≤ 1.5×", "queue", backlog(r"sqlite \(\w+\)")),
    ("backlog-postgres", "#18 lease+ack cost per message, 10× the backlog, PostgreSQL", "≤ 1.5×", "queue", backlog("postgres")),
    ("http-pg-vs-sqlite", "#18 HTTP end to end on PostgreSQL vs SQLite, 100-record documents (e2e.py, ES256)", "≥ 0.80",
     "postgres-e2e", parse_pg_vs_sqlite),
    ("http-pg-p99", "#18 HTTP p99, single-record submissions at 500/s, PostgreSQL (ES256)", "< 50 ms", "http-pg-latency",
     parse_pg_p99),
    ("stream-vs-whole", "#18 `--stream` vs whole-document translation", "≥ 0.90", "translate", ratio_line("stream / whole", ["translate --stream", "translate whole document"], 0.90)),
    ("translate-vs-libxml2", "#18 translate sc-traffic-xml vs libxml2 parsing the same documents", "≥ 0.45", "translate",
     ratio_line("translate / libxml2", ["translate + serialize", "libxml2 xmlReadMemory alone"], 0.45)),
    ("es256-seal", "#18 ES256 seal vs `openssl speed ecdsap256` sign", "≥ 0.85", "sign-es256", parse_es256),
    ("federation-es256", "#13 federated vs one-node records/s, ES256, 100-record documents", "≥ 0.50", "federation",
     federation_ratio("ES256")),
    ("federation-sm2", "#13 federated vs one-node records/s, SM2-SM3, 100-record documents", "≥ 0.50", "federation",
     federation_ratio("SM2-SM3")),
    ("transfer-p99-es256", "#13 transfer p99 per batch on loopback, ES256 (paced at half the federated rate)", "< 100 ms",
     "federation", federation_p99("ES256")),
    ("transfer-p99-sm2", "#13 transfer p99 per batch on loopback, SM2-SM3 (paced at half the federated rate)", "< 100 ms",
     "federation", federation_p99("SM2-SM3")),
]
ROW_IDS = [r[0] for r in ROWS]


def display(env, argv):
    """The command as a shell line; "$PG" stays a variable (double-quoted) for the database URL."""
    def quote(v):
        return '"%s"' % v if "$PG" in v else shlex.quote(v)
    return " ".join(["%s=%s" % (k, quote(v)) for k, v in env.items()] + [quote(a) for a in argv])


def usage(message=None):
    if message:
        print("goals: " + message, file=sys.stderr)
    print("usage: bash Benchmarks/goals/run.sh [--quick] [--only ROW…] [--list]\nrows: " + " ".join(ROW_IDS), file=sys.stderr)
    sys.exit(2)


def parse_arguments(args):
    quick, only, check, listing = False, [], False, False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--quick":
            quick = True
        elif a == "--check":
            check = True
        elif a == "--list":
            listing = True
        elif a in ("-h", "--help"):
            print(__doc__.split("\n\n")[0])
            usage()
        elif a == "--only":
            i += 1
            while i < len(args) and not args[i].startswith("--"):
                only += [r for r in args[i].split(",") if r]
                i += 1
            if not only:
                usage("--only needs at least one row")
            continue
        else:
            usage("unknown argument " + a)
        i += 1
    unknown = [r for r in only if r not in ROW_IDS]
    if unknown:
        usage("unknown row(s): " + " ".join(unknown))
    return quick, only, check, listing


def main():
    quick, only, check, listing = parse_arguments(sys.argv[1:])
    rows = [r for r in ROWS if not only or r[0] in only]
    if listing:
        print("| row | what | goal | command |\n|---|---|---|---|")
        for rid, what, goal, bench, _ in ROWS:
            print("| %s | %s | %s | `%s` |" % (rid, what, goal, display(*BENCHES[bench](quick))))
        return 0
    if check:
        return 0
    binary, pg, logs = os.environ["XGW_BENCH_BINARY"], os.environ["XGW_GOALS_PG"], os.environ["XGW_GOALS_LOGS"]
    benches = []
    for r in rows:
        if r[3] not in benches:
            benches.append(r[3])
    outputs, failures = {}, {}
    timeout = 600 if quick else 3600
    for n, bench in enumerate(benches, 1):
        env, argv = BENCHES[bench](quick)
        shown = display(env, argv)
        log = os.path.join(logs, bench + ".log")
        load = open("/proc/loadavg").read().split()[:3]
        print("== [%d/%d] %s  (load %s; output in %s)" % (n, len(benches), shown, " ".join(load), log), file=sys.stderr, flush=True)
        run_env = dict(os.environ)
        run_env.update({k: v.replace("$PG", pg) for k, v in env.items()})
        run_argv = [binary if a == "xgw" else a.replace("$PG", pg) for a in argv]
        started = time.monotonic()
        with open(log, "w") as f:
            f.write("$ %s\n" % shown)
            f.flush()
            try:
                done = subprocess.run(run_argv, env=run_env, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
                if done.returncode != 0:
                    failures[bench] = "exited %d (see %s)" % (done.returncode, log)
            except subprocess.TimeoutExpired:
                failures[bench] = "took longer than %d s, stopped (see %s)" % (timeout, log)
        outputs[bench] = open(log).read()
        if bench in failures:
            sys.stderr.write("".join("   | " + line for line in outputs[bench].splitlines(True)[-8:]))
        print("   %s after %.0f s" % ("FAILED: " + failures[bench] if bench in failures else "done", time.monotonic() - started),
              file=sys.stderr, flush=True)

    table = ["| row | measured | goal | met? | command |", "|---|---|---|---|---|"]
    failed_rows = []
    for rid, what, goal, bench, parse in rows:
        env, argv = BENCHES[bench](quick)
        if bench in failures:
            measured, met = "bench failed: " + failures[bench], "FAILED"
            failed_rows.append(rid)
        else:
            try:
                measured, ok = parse(outputs[bench])
                met = "yes" if ok else "no"
            except Unparsed as e:
                measured, met = "unparseable output: %s (see %s)" % (e, os.path.join(logs, bench + ".log")), "FAILED"
                failed_rows.append(rid)
        table.append("| `%s` %s | %s | %s | %s | `%s` |" % (rid, what, measured, goal, met, display(env, argv)))
    print("\n".join(table))
    if quick:
        print("\n(--quick: shortened runs to check the script; the figures are not the goals' measurements)")
    if failed_rows:
        print("\ngoals: FAILED rows: " + " ".join(failed_rows), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
