#!/usr/bin/env python3
"""Open-loop fixed-rate load: single-record submissions at RATE requests/s for SECONDS, latency
measured from each request's scheduled start (no coordinated omission). Loopback only.

usage: fixed_rate.py PORT TOKEN [RATE=500] [SECONDS=20] [CONNECTIONS=32]
"""
import http.client, json, sys, threading, time, queue

port, token = int(sys.argv[1]), sys.argv[2]
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 500
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20
connections = int(sys.argv[5]) if len(sys.argv) > 5 else 32
run = str(int(time.time()))

def body(n):
    record = {"id": f"CQFR{run}-{n}", "vehicle": {"plateNo": "渝F·A1234", "plateKind": "小型汽车"},
              "driver": {"name": "李四", "idCard": "500228199001011235"}, "occurredAt": 1689035400000,
              "place": {"areaCode": "500155107", "address": "新盛镇场镇过境路K2+300", "lng": 107.86, "lat": 30.86},
              "offence": {"code": "1039", "text": "机动车违反规定停放、临时停车"}, "fine": 200.0, "points": 0,
              "mode": "ONSITE", "state": "UNHANDLED",
              "org": {"code": "500155000000", "name": "重庆市梁平区公安局交通巡逻警察支队"}, "updatedAt": 1689036000000}
    return json.dumps({"schema": "cq.traffic.violation/1", "records": [record]}, ensure_ascii=False).encode()

total = int(rate * seconds)
jobs = queue.Queue()
latencies, errors, lock = [], [0], threading.Lock()

def worker():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while True:
        job = jobs.get()
        if job is None:
            return
        n, scheduled = job
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            conn.request("POST", "/v1/documents", body=body(n),
                         headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            resp = conn.getresponse(); resp.read()
            ok = resp.status == 200
        except Exception:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30); ok = False
        elapsed = time.perf_counter() - scheduled
        with lock:
            latencies.append(elapsed)
            if not ok:
                errors[0] += 1

threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
for t in threads:
    t.start()
start = time.perf_counter() + 0.5
for n in range(total):
    jobs.put((n, start + n / rate))
for _ in threads:
    jobs.put(None)
for t in threads:
    t.join()
latencies.sort()
def pct(p):
    return 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]
print(f"fixed rate {rate:.0f}/s for {seconds:.0f} s: {len(latencies)} requests, {errors[0]} errors, "
      f"p50 {pct(50):.1f} ms, p90 {pct(90):.1f} ms, p99 {pct(99):.1f} ms, max {1000 * latencies[-1]:.1f} ms")
