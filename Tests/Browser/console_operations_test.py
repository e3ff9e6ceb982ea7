#!/usr/bin/env python3
"""The ops console's operations pages (issue 15) in headless Chromium: dead letters (replay one
after the confirmation step and see it leave the list), the mapping playground on a valid and an
invalid fixture (pasted and uploaded), participants and certificates, each with the keyboard, every
control labelled; last, the sign-in rate limit's message after ten wrong tokens. Starts its own `.build/debug/xgw serve` (retry.maxDeliveries 1, so that one
expired lease makes a dead letter) on a temporary folder and a free port. Reuses the helpers of
console_harness.py (the browser, screenshots, sign-in, the label check, the end of a run). Screenshots go to
.build/ci-artifacts/console/ (with --docs, the main ones also to docs/console/).

Exit status 0 when every check passed, 1 otherwise; the last line is `N passed, N failed`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_harness as harness  # noqa: E402
from console_harness import api, browser, check, free_port, shot, sign_in, unlabelled_controls, ROOT, XGW  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

FIXTURES = os.path.join(ROOT, "Fixtures", "sc-traffic-xml")


def start_server(data):
    """`xgw serve --config` with one delivery per message and a fast back-off."""
    config = os.path.join(data, "serve.yaml")
    with open(config, "w") as f:
        f.write("retry: { baseDelaySeconds: 0.2, maxDelaySeconds: 0.5, maxDeliveries: 1 }\n")
    port = free_port()
    env = dict(os.environ, XGW_DATA=os.path.join(data, "data"), XGW_PORT=str(port), XGW_LISTEN="127.0.0.1")
    os.makedirs(env["XGW_DATA"])
    out_path, log_path = os.path.join(data, "stdout.txt"), os.path.join(data, "server.log")
    process = subprocess.Popen([XGW, "serve", "--config", config], cwd=ROOT, env=env,
                               stdout=open(out_path, "w"), stderr=open(log_path, "w"))
    deadline, text = time.time() + 180, ""
    while time.time() < deadline:
        text = open(out_path).read()
        if "console at " in text or process.poll() is not None:
            break
        time.sleep(0.2)
    if "console at " not in text:
        process.kill()
        raise SystemExit("xgw serve did not start:\n" + text + open(log_path).read()[-3000:])
    console = text.split("console at ", 1)[1].split()[0]
    tokens = {p[1]: p[2] for p in (line.split() for line in text.splitlines()) if len(p) == 3 and p[0] == "token"}
    return process, port, console, tokens


def make_dead_letter(port, tokens):
    """renshi sends three records to xinsheng; xinsheng leases one for 1 s and never acks: with
    maxDeliveries 1 the expired lease is a dead letter once xinsheng's next lease (one message,
    held an hour) returns it. Returns its envelope id."""
    with open(os.path.join(FIXTURES, "002-batch-three-utf8.xml"), "rb") as f:
        status, answer = api(port, "POST", "/v1/documents", tokens["renshi"], f.read(), "application/xml")
    check("API accepts the traffic fixture", status == 200, answer)
    status, leased = api(port, "POST", "/v1/inbox/lease", tokens["xinsheng"],
                         json.dumps({"max": 1, "visibilitySeconds": 1}).encode())
    envelope = leased["messages"][0]["envelopeId"]
    time.sleep(2)
    api(port, "POST", "/v1/inbox/lease", tokens["xinsheng"], json.dumps({"max": 1, "visibilitySeconds": 3600}).encode())
    _, dead = api(port, "GET", "/v1/ops/dead-letters", tokens["ops"])
    check("the expired lease became a dead letter", any(d["envelopeId"] == envelope for d in dead.get("deadLetters", [])), dead)
    return envelope


def playground(driver, console, mapping=None, paste=None, upload=None):
    driver.get(console + "playground")
    if paste is not None:
        area = driver.find_element(By.ID, "pg-document")
        driver.execute_script("arguments[0].value = arguments[1]", area, paste)
    if upload is not None:
        driver.find_element(By.ID, "pg-file").send_keys(upload)
    if mapping is not None:
        driver.find_element(By.CSS_SELECTOR, f"#pg-mapping option[value='{mapping}']").click()
    driver.find_element(By.ID, "pg-run").send_keys(Keys.ENTER)
    time.sleep(0.5)


def main():
    data = tempfile.mkdtemp(prefix="xgw-console-ops-")
    process, port, console, tokens = start_server(data)
    driver = None
    try:
        envelope = make_dead_letter(port, tokens)
        driver = browser()

        # Dead letters: ops selects one with the keyboard, confirms, and it leaves the list.
        sign_in(driver, console, tokens["ops"])
        nav = driver.find_element(By.CSS_SELECTOR, "header nav").text
        check("the navigation links the three pages", all(t in nav for t in ["死信", "映射试验", "参与方与证书"]), nav)
        driver.get(console + "dead-letters")
        check("dead letters: every control has a label", not unlabelled_controls(driver), unlabelled_controls(driver))
        check("the dead letter is listed with its last error", envelope in driver.page_source and "lease expired" in driver.page_source)
        shot(driver, "20-dead-letters", docs=True)
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "main tbody tr") if envelope in r.text][0]
        row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").send_keys(Keys.SPACE)
        driver.find_element(By.ID, "replay-selected").send_keys(Keys.ENTER)
        time.sleep(0.3)
        check("replay asks for confirmation first", envelope in driver.find_element(By.ID, "confirm-list").text)
        shot(driver, "21-dead-letters-confirm")
        _, still = api(port, "GET", "/v1/ops/dead-letters", tokens["ops"])
        check("... and replays nothing before it", any(d["envelopeId"] == envelope for d in still["deadLetters"]))
        driver.find_element(By.ID, "confirm-replay").send_keys(Keys.ENTER)
        time.sleep(0.3)
        check("after the replay the dead letter leaves the list",
              "replay-result" in driver.page_source and envelope not in driver.page_source)
        shot(driver, "22-dead-letters-replayed")
        _, queues = api(port, "GET", "/v1/ops/queues", tokens["ops"])
        xinsheng = [q for q in queues["queues"] if q["participant"] == "xinsheng"][0]
        check("the replayed message is queued again", xinsheng["dead"] == 0 and xinsheng["queued"] == 2, xinsheng)

        # The mapping playground: a valid GBK upload, an invalid pasted document.
        _, before = api(port, "GET", "/v1/ops/queues", tokens["ops"])
        playground(driver, console, upload=os.path.join(FIXTURES, "005-gbk-batch-two.xml"))
        check("playground: every control has a label", not unlabelled_controls(driver), unlabelled_controls(driver))
        summary = driver.find_element(By.ID, "pg-summary").text
        check("playground: a valid upload gives its records", "sc-traffic-xml" in summary and "记录 2 条" in summary, summary)
        check("playground: with the --explain lineage", "/vehicle/plate" in driver.page_source)
        shot(driver, "23-playground-valid", docs=True)
        with open(os.path.join(FIXTURES, "028-id-number-bad-check-character.xml"), encoding="utf-8") as f:
            bad = f.read()
        playground(driver, console, mapping="sc-traffic-xml", paste=bad)
        rejection = driver.find_element(By.CSS_SELECTOR, "article.rejection").text
        check("playground: the rejection names code, member and source",
              all(t in rejection for t in ["invalid-id-number", "/driver/idNumber", "/root/body/vio/jszh"]), rejection)
        check("playground: personal data masked in the rejection", "511723199001011234" not in rejection, rejection)
        shot(driver, "24-playground-invalid", docs=True)
        _, after = api(port, "GET", "/v1/ops/queues", tokens["ops"])
        check("playground enqueues nothing", before == after, (before, after))

        # Participants and certificates.
        driver.get(console + "participants")
        table = driver.find_element(By.ID, "participants").text
        check("participants: certificates with days to expiry", "renshi" in table and "有效 Valid" in table, table[:500])
        shot(driver, "25-participants", docs=True)
        sign_in(driver, console, tokens["renshi"])
        driver.get(console + "participants")
        rows = driver.find_elements(By.CSS_SELECTOR, "#participants tbody tr")
        check("a participant sees its own certificate only", len(rows) == 1 and "renshi" in rows[0].text, [r.text for r in rows])

        # The sign-in rate limit, last (it refuses this address for 5 minutes): ten wrong tokens,
        # then even the ops token gets the message, announced, with the form kept.
        for attempt in range(10):
            sign_in(driver, console, "xgw_wrong_%d" % attempt)
        sign_in(driver, console, tokens["ops"])
        message = driver.find_element(By.ID, "signin-error")
        check("after ten wrong tokens the sign-in form says to wait",
              "登录失败次数过多" in message.text and "Too many failed sign-ins" in message.text
              and message.get_attribute("role") == "alert", message.text)
        check("... and signs nobody in", not driver.get_cookie("xgw_session"))
        shot(driver, "26-signin-rate-limited")
    except Exception:
        harness.unexpected_error(driver, "29-operations-error")
    finally:
        harness.stop(driver, process, data, os.path.join(data, "server.log"))
    return harness.summary("console operations browser tests")

if __name__ == "__main__":
    sys.exit(main())
