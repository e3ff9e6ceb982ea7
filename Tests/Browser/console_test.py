#!/usr/bin/env python3
"""The ops console (issue 15) in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium. Starts `.build/debug/xgw serve` on a temporary data folder
and a free port, submits fixtures through the API, then signs in with the ops token and with
participant tokens, finds messages, opens detail pages, and checks that a participant cannot see
another's messages, that a bulletin whose body holds <script> shows as text, that a form without
its CSRF token is refused, and that every control has a label. Saves a screenshot of each page in
.build/ci-artifacts/console/ (with --docs, the main ones also in docs/console/).

Exit status 0 when every check passed, 1 otherwise; the last line is `N passed, N failed`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from console_harness import (
    ROOT, XGW, api, browser, check, free_port, shot, sign_in, stop, summary, unexpected_error, unlabelled_controls,
)

# A bulletin whose text holds a script element (written escaped in the regional markup, so that
# the canonical body keeps it as text): the page must show it as text and never run it.
SCRIPT_TEXT = "<script>window.xgwInjected=1</script>"
BULLETIN = {
    "schema": "cq.alliance.bulletin/1",
    "bulletin": {
        "id": "LPXS-2026-0999",
        "title": "控制台转义测试 Console escaping test",
        "publisher": {"org": "liangping-xinsheng", "name": "中共重庆市梁平区新盛镇委员会"},
        "publishedAt": "2026-12-01T09:00:00+08:00",
        "recipients": ["kaijiang-renshi"],
        "urgent": False,
        "content": "<p>&lt;script&gt;window.xgwInjected=1&lt;/script&gt;</p>",
        "updatedAt": "2026-12-01T09:05:00+08:00",
    },
}

def start_server(data):
    port = free_port()
    env = dict(os.environ, XGW_DATA=data, XGW_PORT=str(port), XGW_LISTEN="127.0.0.1")
    log = open(os.path.join(data, "server.log"), "w")
    out_path = os.path.join(data, "stdout.txt")
    out = open(out_path, "w")
    process = subprocess.Popen([XGW, "serve"], cwd=ROOT, env=env, stdout=out, stderr=log)
    deadline = time.time() + 180
    text = ""
    while time.time() < deadline:
        text = open(out_path).read()
        if "console at " in text:
            break
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if "console at " not in text:
        process.kill()
        raise SystemExit("xgw serve did not start:\n" + text + open(os.path.join(data, "server.log")).read()[-3000:])
    console = text.split("console at ", 1)[1].split()[0]
    tokens = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "token":
            tokens[parts[1]] = parts[2]
    return process, port, console, tokens


def main():
    data = tempfile.mkdtemp(prefix="xgw-console-")
    process, port, console, tokens = start_server(data)
    driver = None
    try:
        # Fixtures through the API: renshi's three traffic records to xinsheng, the bulletin to kaijiang-renshi.
        with open(os.path.join(ROOT, "Fixtures", "sc-traffic-xml", "002-batch-three-utf8.xml"), "rb") as f:
            status, traffic = api(port, "POST", "/v1/documents", tokens["renshi"], f.read(), "application/xml")
        check("API accepts the traffic fixture", status == 200, traffic)
        traffic_ids = [r["envelopeId"] for r in traffic.get("records", []) if "envelopeId" in r]
        traffic_records = [r["recordId"] for r in traffic.get("records", []) if "envelopeId" in r]
        status, bulletin = api(port, "POST", "/v1/documents", tokens["liangping-xinsheng"], json.dumps(BULLETIN).encode())
        check("API accepts the bulletin", status == 200, bulletin)
        bulletin_id = bulletin["records"][0]["envelopeId"]
        # A rejected document, so that the chart has a rejection.
        status, _ = api(port, "POST", "/v1/documents", tokens["renshi"], b'{"schema":"cq.traffic.violation/1","records":[{}]}')

        driver = browser()

        # Ops: sign in with the keyboard, the overview.
        sign_in(driver, console, "xgw_not_a_token")
        check("a wrong token is refused", "令牌无效" in driver.page_source)
        shot(driver, "01-sign-in-refused")
        sign_in(driver, console, tokens["ops"])
        check("ops signs in to the overview", driver.current_url.rstrip("/").endswith("/console") and "队列 Queues" in driver.page_source,
              driver.current_url)
        check("the overview lists every participant", all(p in driver.page_source for p in ["renshi", "xinsheng", "kaijiang-renshi"]))
        check("the overview draws the chart", len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 2)
        check("overview: every control has a label", not unlabelled_controls(driver), unlabelled_controls(driver))
        shot(driver, "02-overview", docs=True)

        # The message browser: search by record id.
        driver.get(console + "messages")
        check("messages: every control has a label", not unlabelled_controls(driver), unlabelled_controls(driver))
        check("ops sees every message", all(i in driver.page_source for i in traffic_ids + [bulletin_id]))
        field = driver.find_element(By.ID, "q-record")
        field.send_keys(traffic_records[1])
        field.send_keys(Keys.ENTER)
        time.sleep(0.3)
        rows = driver.find_elements(By.CSS_SELECTOR, "main tbody tr")
        check("search by record id finds one message", len(rows) == 1 and traffic_ids[1] in rows[0].text if rows else False,
              [r.text for r in rows])
        shot(driver, "03-messages-search", docs=True)
        driver.get(console + "messages?status=queued&kind=traffic-violation")
        check("search by kind and status", sum(i in driver.page_source for i in traffic_ids) == 3 and bulletin_id not in driver.page_source)
        shot(driver, "04-messages", docs=True)

        # Message detail, reached by the keyboard-followable link.
        driver.get(console + "messages?envelopeId=" + traffic_ids[0])
        driver.find_element(By.LINK_TEXT, traffic_ids[0]).send_keys(Keys.ENTER)
        time.sleep(0.3)
        check("detail: the signature verifies", "签名有效" in driver.find_element(By.ID, "signature-status").text)
        check("detail: the history timeline", "queued" in driver.find_element(By.CSS_SELECTOR, "ol.timeline").text)
        payload = driver.find_element(By.ID, "payload").text
        check("detail: personal data masked", "李四" not in payload and "500228199001011235" not in payload, payload[:400])
        shot(driver, "05-message-detail", docs=True)

        # The bulletin's <script> is text.
        driver.get(console + "messages/" + bulletin_id)
        payload = driver.find_element(By.ID, "payload").text
        check("a <script> in a bulletin shows as text", SCRIPT_TEXT in payload, payload[:400])
        check("... and never runs", driver.execute_script("return window.xgwInjected === undefined"))
        check("... and is no element", not driver.find_elements(By.CSS_SELECTOR, "main script"))
        shot(driver, "06-bulletin-detail")

        # A form without its CSRF token: 403.
        driver.get(console)
        driver.execute_script("document.querySelector('form.signout input[name=_csrf]').remove()")
        driver.find_element(By.CSS_SELECTOR, "form.signout button").send_keys(Keys.ENTER)
        time.sleep(0.3)
        check("a form without its CSRF token is refused", "CSRF" in driver.page_source and "403" in driver.title, driver.title)
        shot(driver, "07-csrf-refused")
        driver.get(console)
        check("... and the session is still there", "队列 Queues" in driver.page_source)
        # Sign out with the keyboard.
        driver.find_element(By.CSS_SELECTOR, "form.signout button").send_keys(Keys.ENTER)
        time.sleep(0.3)
        driver.get(console)
        check("sign-out ends the session", "/console/signin" in driver.current_url, driver.current_url)

        # Participants: each sees only its own.
        sign_in(driver, console, tokens["kaijiang"])
        driver.get(console + "messages")
        check("kaijiang sees none of renshi's messages to xinsheng", not any(i in driver.page_source for i in traffic_ids))
        check("kaijiang does not see the bulletin to kaijiang-renshi", bulletin_id not in driver.page_source)
        shot(driver, "08-participant-messages")
        driver.get(console + "messages/" + traffic_ids[0])
        check("kaijiang cannot open another's message", "404" in driver.title and "签名" not in driver.page_source, driver.title)
        shot(driver, "09-participant-refused")

        sign_in(driver, console, tokens["xinsheng"])
        driver.get(console + "messages")
        check("xinsheng sees the messages sent to it", all(i in driver.page_source for i in traffic_ids))
        check("xinsheng does not see the bulletin", bulletin_id not in driver.page_source)
        driver.get(console)
        check("xinsheng's overview shows its own queue only",
              "xinsheng" in driver.page_source and ">renshi<" not in driver.page_source)
        shot(driver, "10-participant-overview", docs=True)

        sign_in(driver, console, tokens["kaijiang-renshi"])
        driver.get(console + "messages/" + bulletin_id)
        check("the bulletin's recipient opens it", SCRIPT_TEXT in driver.find_element(By.ID, "payload").text)
    except Exception:
        unexpected_error(driver, "99-error")
    finally:
        stop(driver, process, data, os.path.join(data, "server.log"))
    return summary("console browser tests")

if __name__ == "__main__":
    sys.exit(main())
