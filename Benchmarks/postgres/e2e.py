#!/usr/bin/env python3
"""End-to-end load on one or more `xgw serve` nodes (Benchmarks/postgres/run.sh).

Submitters post Chongqing traffic documents (xinsheng -> renshi, DOC records each); lessees lease
up to 100 messages and ack each on the node that leased it. Both are spread round-robin over the
nodes, and their numbers do not depend on the number of nodes, so one and two nodes get the same
client load. Prints records/s from the first submission until every record is acked.

  e2e.py PORTS XINSHENG_TOKEN RENSHI_TOKEN RECORDS [DOC] [SUBMITTERS] [LESSEES]
"""
import http.client
import json
import sys
import threading
import time
import uuid

ports = [int(p) for p in sys.argv[1].split(",")]
sub_token, recv_token, total = sys.argv[2], sys.argv[3], int(sys.argv[4])
per_doc = int(sys.argv[5]) if len(sys.argv) > 5 else 10
submitters = int(sys.argv[6]) if len(sys.argv) > 6 else 4
lessees = int(sys.argv[7]) if len(sys.argv) > 7 else 2
run = uuid.uuid4().hex[:8]

RECORD = ('{"id":"CQ%s","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},'
          '"driver":{"name":"李四","idCard":"500228199001011235"},"occurredAt":1689035400000,'
          '"place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},'
          '"offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.0,"points":0,"mode":"ONSITE",'
          '"state":"UNHANDLED","org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},"updatedAt":1689036000000}')


def document(n):
    records = ",".join(RECORD % ("%s-%d-%d" % (run, n, i)) for i in range(per_doc))
    return ('{"schema":"cq.traffic.violation/1","records":[%s]}' % records).encode()


def call(conn, method, path, token, body=None):
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


documents = total // per_doc
next_doc = [0]
acked = [0]
lock = threading.Lock()
errors = [0]
done = threading.Event()


def submitter(index):
    conn = http.client.HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=60)
    while True:
        with lock:
            n = next_doc[0]
            next_doc[0] += 1
        if n >= documents:
            return
        body = document(n)
        while True:
            status, _ = call(conn, "POST", "/v1/documents", sub_token, body)
            if status == 200:
                break
            with lock:
                errors[0] += 1
            time.sleep(0.05)


def lessee(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not done.is_set():
        status, body = call(conn, "POST", "/v1/inbox/lease", recv_token, b'{"max":100,"visibilitySeconds":60}')
        messages = json.loads(body).get("messages", []) if status == 200 else []
        if not messages:
            time.sleep(0.005)
            continue
        for m in messages:
            ack = json.dumps({"leaseToken": m["leaseToken"], "outcome": "accepted"}).encode()
            status, _ = call(conn, "POST", "/v1/inbox/%s/ack" % m["envelopeId"], recv_token, ack)
            with lock:
                if status == 200:
                    acked[0] += 1
                else:
                    errors[0] += 1
                if acked[0] >= documents * per_doc:
                    done.set()


start = time.monotonic()
threads = [threading.Thread(target=submitter, args=(i,)) for i in range(submitters)]
threads += [threading.Thread(target=lessee, args=(ports[i % len(ports)],), daemon=True) for i in range(lessees)]
for t in threads:
    t.start()
done.wait()
elapsed = time.monotonic() - start
print("%d records, %d node(s): %.0f records/s end to end (%.2f s, %d refused calls retried)"
      % (documents * per_doc, len(ports), documents * per_doc / elapsed, elapsed, errors[0]))
