"""The README's screenshots, from the demo: `autocrm demo` first, then
`python scripts/screenshots.py` (needs Debian's chromium + chromium-driver). Starts
`autocrm serve --dev` on a free port, signs in as the demo admin in headless Chromium and saves
docs/screenshots/{inbox,ticket-suggestion,insights}.png."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ADMIN = "maya.okafor@flowdesk.io"
TICKET = 25  # "API rate limit on the Team plan"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from autocrm.cli.main import main; main()",
            "serve",
            "--dev",
            "--port",
            str(port),
        ],
        env=os.environ | {"AUTOCRM_RATE_LIMIT_ENABLED": "false"},
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        os.environ["SE_OFFLINE"] = "true"
        options = Options()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(
            options=options, service=Service(executable_path=shutil.which("chromedriver"))
        )
        wait = WebDriverWait(driver, 60)
        OUT.mkdir(parents=True, exist_ok=True)
        driver.get(f"{base}/signin?next=/app/inbox")
        driver.find_element(By.CSS_SELECTOR, f'button[data-email="{ADMIN}"]').click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table")))
        driver.save_screenshot(str(OUT / "inbox.png"))
        # A demo ticket the KB answers (#25, the API rate limit): a suggestion streamed now.
        driver.get(f"{base}/app/tickets/{TICKET}")
        buttons = driver.find_elements(By.CSS_SELECTOR, "[data-shortcut='s']")
        if buttons:
            buttons[0].click()
            wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "confidence"))
            time.sleep(1)
        driver.save_screenshot(str(OUT / "ticket-suggestion.png"))
        driver.get(f"{base}/app/insights")
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "svg")))
        driver.save_screenshot(str(OUT / "insights.png"))
        driver.quit()
        print(f"saved {', '.join(p.name for p in sorted(OUT.glob('*.png')))} in {OUT}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
