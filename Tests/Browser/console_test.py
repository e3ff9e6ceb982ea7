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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
XGW = os.path.join(ROOT, ".build", "debug", "xgw")
SHOTS = os.path.join(ROOT, ".build", "ci-artifacts", "console")
DOCS = os.path.join(ROOT, "docs", "console")
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

passed, failed = [], []


def check(name, condition, detail=""):
    if condition:
        passed.append(name)
        print(f"ok   {name}")
    else:
        failed.append(name)
        print(f"FAIL {name} {detail}"[:2000])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def api(port, method, path, token, body=None, content_type="application/json"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=zh-CN"]:
        options.add_argument(argument)
    for binary in ["/usr/bin/chromium", "/usr/bin/chromium-browser"]:
        if os.path.exists(binary):
            options.binary_location = binary
            break
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=options)


def shot(driver, name, docs=False):
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, name + ".png")
    # The whole page: as tall as its content.
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight, 1000)")
    driver.set_window_size(1280, min(int(height) + 200, 4000))  # the window holds the browser's own bars too
    driver.save_screenshot(path)
    driver.set_window_size(1280, 1000)
    if docs and "--docs" in sys.argv:
        os.makedirs(DOCS, exist_ok=True)
        shutil.copy(path, os.path.join(DOCS, name + ".png"))


def sign_in(driver, console, token):
    """Keyboard only: the token field has focus on load; type, Enter."""
    driver.delete_all_cookies()
    driver.get(console)
    focused = driver.switch_to.active_element
    focused.send_keys(token)
    focused.send_keys(Keys.ENTER)
    time.sleep(0.3)


def unlabelled_controls(driver):
    """Controls (not hidden inputs) without a <label>, aria-label or visible text."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
          .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.textContent || '').trim())
          .map(e => e.outerHTML);""")


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
        failed.append("unexpected error")
        traceback.print_exc()
        if driver is not None:
            try:
                shot(driver, "99-error")
            except Exception:
                pass
    finally:
        if driver is not None:
            driver.quit()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        if failed:
            print("server log (last lines):\n" + open(os.path.join(data, "server.log")).read()[-3000:])
        shutil.rmtree(data, ignore_errors=True)
    print(f"console browser tests: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
