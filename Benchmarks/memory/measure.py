#!/usr/bin/env python3
"""Peak memory of `xgw serve` per hostile body (issue 17 row 3, docs/security.md).

Each shape is posted to a fresh `xgw serve` (its own data folder) after one warm-up submission;
the cost is the kernel's high-water mark (VmHWM, reset with clear_refs 5 before the request) less
the resident size then. Prints a Markdown table.

Usage (from the repository root): python3 Benchmarks/memory/measure.py [xgw binary] [shape ...]
A shape argument selects the shapes whose name contains it."""
import os, sys, subprocess, tempfile, time, http.client, json, shutil, re

XGW = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/xgw"
only = sys.argv[2:]

def vio(i):
    return ("<vio id=\"%d\"><xh>51172300%08d</xh><hphm>川S·A12345</hphm><hpzl>02</hpzl>"
            "<wfsj>2023-07-11 08:30:00.0</wfsj><xzqh>511723107</xzqh><wfdz>开江县任市镇场镇过境路</wfdz>"
            "<wfxw>1625</wfxw><wfxwmc>驾驶机动车违反道路交通信号灯通行的</wfxwmc><fkje>200</fkje><wfjfs>6</wfjfs>"
            "<cjfs>1</cjfs><dsr>张三</dsr><jszh>511723199001011233</jszh><cjjg>511723000000</cjjg>"
            "<cjjgmc>开江县公安局交通警察大队</cjjgmc><clbj>0</clbj><jkbj>0</jkbj><gxsj>2023-07-11 09:00:00.0</gxsj></vio>\n") % (i, i)

def cq(i):
    return ('{"id":"CQm-%d","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},'
            '"driver":{"name":"李四","idCard":"500228199001011235"},"occurredAt":1689035400000,'
            '"place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},'
            '"offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.0,"points":0,"mode":"ONSITE",'
            '"state":"UNHANDLED","org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},"updatedAt":1689036000000}') % i

LIMIT = 16 << 20
def fill(head, unit, tail, limit=LIMIT - 4096, count=None):
    n = count if count is not None else (limit - len(head) - len(tail)) // len(unit)
    return (head + unit * n + tail).encode()

SC_HEAD = '<root><head><code>1</code><jkid>04C03</jkid></head><body>'
def legit_xml(LIMIT=LIMIT):
    parts, size, i = [SC_HEAD], len(SC_HEAD), 0
    while True:
        v = vio(i).encode()
        if size + len(v) > LIMIT - 100: break
        parts.append(vio(i)); size += len(v); i += 1
    return ("".join(parts) + "</body></root>").encode()
def legit_json(LIMIT=LIMIT):
    head = '{"schema":"cq.traffic.violation/1","records":['
    parts, size, i = [], len(head), 0
    while True:
        r = cq(i); b = len(r.encode()) + 1
        if size + b > LIMIT - 100: break
        parts.append(r); size += b; i += 1
    return (head + ",".join(parts) + "]}").encode()

SHAPES = {
  "x-issue-3.9M-empty":      ("xinsheng", lambda: fill("<root>", "<a/>", "</root>", count=3932160)),
  "x-999990-empty":          ("xinsheng", lambda: fill("<root>", "<a/>", "</root>", count=999990)),
  "x-900k-2attrs":           ("xinsheng", lambda: fill("<root>", '<a x="" y=""/>', "</root>", count=900000)),
  "x-256attrs-elements":     ("xinsheng", lambda: fill("<root>", "<a " + " ".join('a%d=""' % k for k in range(256)) + "/>", "</root>")),
  "x-comments":              ("xinsheng", lambda: fill("<root>", "<!---->", "</root>")),
  "x-pis":                   ("xinsheng", lambda: fill("<root>", "<?a?>", "</root>")),
  "x-text-between":          ("xinsheng", lambda: fill("<root>", "<a/>x", "</root>", count=999990)),
  "x-charrefs":              ("xinsheng", lambda: fill("<root>", "&#60;", "</root>")),
  "x-big-text":              ("xinsheng", lambda: fill("<root>", "x", "</root>")),
  "x-ns-decls":              ("xinsheng", lambda: fill("<root>", '<a xmlns:p="u" xmlns:q="v"/>', "</root>")),
  "x-20k-tiny-records":          ("renshi",   lambda: fill(SC_HEAD, "<vio/>", "</body></root>", count=20000)),
  "x-tiny-records-max":      ("renshi",   lambda: fill(SC_HEAD, "<vio/>", "</body></root>", count=999990)),
  "x-one-big-record":        ("renshi",   lambda: fill(SC_HEAD + "<vio>", "<a/>", "</vio></body></root>", count=999980)),
  "x-gbk-comments":          ("xinsheng", lambda: fill('<?xml version="1.0" encoding="GBK"?><root>', "<!---->", "</root>")),
  "x-legit-sc-traffic":      ("renshi",   legit_xml),
  "j-issue-7M-zeros":        ("xinsheng", lambda: ("[" + "0," * ((7 << 20) - 1) + "0]").encode()),
  "j-999990-zeros":          ("xinsheng", lambda: ("[" + "0," * 999989 + "0]").encode()),
  "j-20k-tiny-records":          ("xinsheng", lambda: fill('{"schema":"cq.traffic.violation/1","records":[', "{},", "{}]}", count=20000)),
  "j-tiny-records-max":      ("xinsheng", lambda: fill('{"schema":"cq.traffic.violation/1","records":[', "{},", "{}]}", count=999980)),
  "j-members":               ("xinsheng", lambda: ("{" + ",".join('"m%d":0' % k for k in range(499990)) + "}").encode()),
  "j-big-string":            ("xinsheng", lambda: fill('["', "x", '"]')),
  "j-legit-cq-traffic":      ("xinsheng", legit_json),
  "x-legit-2000-records":    ("renshi",   lambda: legit_xml(2000 * 560)),
  "x-legit-3000-records":    ("renshi",   lambda: legit_xml(3000 * 560)),
  "j-legit-2500-records":    ("xinsheng", lambda: legit_json(2500 * 700)),
  "j-legit-3500-records":    ("xinsheng", lambda: legit_json(3500 * 700)),
  "x-legit-1000-records":    ("renshi",   lambda: legit_xml(1000 * 560)),
  "j-legit-1000-records":    ("xinsheng", lambda: legit_json(1000 * 700)),
}

def mem(pid):
    d = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        if k in ("VmHWM", "VmRSS"): d[k] = int(v.split()[0]) * 1024
    return d["VmHWM"], d["VmRSS"]

def cpu(pid):
    s = open("/proc/%d/stat" % pid).read()
    f = s[s.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def post(port, token, body, timeout=300):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", "/v1/documents", body=body, headers={"Authorization": "Bearer " + token, "Content-Type": "application/octet-stream"})
    r = c.getresponse(); data = r.read(); c.close()
    return r.status, data

def run(name, token_name, body):
    data = tempfile.mkdtemp(prefix="xgw-mem-")
    env = dict(os.environ, XGW_PORT="0", XGW_DATA=data)
    log = open(os.path.join(data, "server.log"), "w")
    p = subprocess.Popen([XGW, "serve"], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    tokens, port = {}, None
    try:
        for line in p.stdout:
            if line.startswith("token "):
                _, n, t = line.split(); tokens[n] = t
            m = re.search(r"listening on https?://[^:]+:(\d+)", line)
            if m: port = int(m.group(1)); break
        warm = ('{"schema":"cq.traffic.violation/1","records":[' + ",".join(cq(k) for k in range(3)) + "]}").encode()
        st, _ = post(port, tokens["xinsheng"], warm)
        assert st == 200, st
        try:
            with open("/proc/%d/clear_refs" % p.pid, "w") as f: f.write("5")
        except OSError: pass
        _, rss0 = mem(p.pid); c0 = cpu(p.pid)
        t0 = time.time()
        status, answer = post(port, tokens[token_name], body)
        wall = time.time() - t0
        hwm, rss1 = mem(p.pid); c1 = cpu(p.pid)
        code = ""
        try:
            j = json.loads(answer)
            if "records" in j:
                recs = j["records"]
                code = "accepted=%s rejected=%s" % (j.get("accepted"), j.get("rejected"))
                if recs and "errors" in recs[0] and recs[0].get("index") is None:
                    code = recs[0]["errors"][0]["code"] + ": " + recs[0]["errors"][0]["message"][:70]
            elif "error" in j:
                code = str(j.get("error"))[:80]
        except Exception:
            code = answer[:80]
        mib = len(body) / 2**20
        cost = hwm - rss0
        print("| %-22s | %6.1f | %3d | %7.0f | %5.1f× | %5.2f | %5.0f | %s |" % (
            name, mib, status, cost / 2**20, cost / len(body), c1 - c0, (rss1 - rss0) / 2**20, code), flush=True)
    finally:
        p.terminate(); p.wait(30); shutil.rmtree(data, ignore_errors=True)

print("| shape | MiB | status | peak MiB | ×body | CPU s | RSS after MiB | answer |")
print("|---|---|---|---|---|---|---|---|")
for name, (tok, make) in SHAPES.items():
    if only and not any(o in name for o in only): continue
    run(name, tok, make())
