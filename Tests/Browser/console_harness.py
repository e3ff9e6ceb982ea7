#!/usr/bin/env python3
"""What the console's browser tests share (console_test.py, console_operations_test.py): the
repository's paths, the pass/fail tally, the API client, headless Chromium, screenshots, keyboard
sign-in, the label check, and the end of a run (the error screenshot, stopping the browser and
`xgw serve`, the server log on failure, the summary line).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.keys import Keys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
XGW = os.path.join(ROOT, ".build", "debug", "xgw")
SHOTS = os.path.join(ROOT, ".build", "ci-artifacts", "console")
DOCS = os.path.join(ROOT, "docs", "console")

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


def unexpected_error(driver, screenshot):
    """An exception ended the checks: counted as a failure, its trace printed, the page shot."""
    failed.append("unexpected error")
    traceback.print_exc()
    if driver is not None:
        try:
            shot(driver, screenshot)
        except Exception:
            pass


def stop(driver, process, data, log):
    """Quits the browser, stops `xgw serve`, prints the end of its log if a check failed, removes `data`."""
    if driver is not None:
        driver.quit()
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    if failed:
        print("server log (last lines):\n" + open(log).read()[-3000:])
    shutil.rmtree(data, ignore_errors=True)


def summary(title):
    """The last line (`N passed, N failed`) and the exit status: 0 when every check passed."""
    print(f"{title}: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0
