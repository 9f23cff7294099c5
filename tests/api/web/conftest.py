"""Page tests in a real browser: Debian's headless Chromium through Selenium (no browser or driver
download: Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver and kept offline).

``.ci/run`` installs the two packages when missing and sets AUTOCRM_REQUIRE_BROWSER=1, which turns
a missing browser into a failure; elsewhere the browser tests skip with that reason. Screenshots
land in AUTOCRM_SCREENSHOTS (default reports/screenshots) as test artifacts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_BROWSER = os.environ.get("AUTOCRM_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(os.environ.get("AUTOCRM_SCREENSHOTS", "reports/screenshots"))
WINDOW = (1280, 800)


def _browser_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="session")
def chrome() -> Iterator:
    """One headless Chromium for the session (each test starts signed out: ``web`` clears it)."""
    paths = _browser_paths()
    if paths is None:
        reason = (
            "headless Chromium not installed (apt-get install chromium chromium-driver; "
            ".ci/run installs them)"
        )
        if REQUIRE_BROWSER:
            pytest.fail(f"AUTOCRM_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = paths[0]
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


class Web:
    """The browser pointed at the live API server, with the few steps every page test takes."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def sign_in(self, email: str, *, next: str = "/") -> None:
        """Dev-mode sign-in as a demo user (the button on /signin), landing on ``next``."""
        from selenium.webdriver.common.by import By

        self.open(f"/signin?next={next}")
        self.driver.find_element(By.CSS_SELECTOR, f'button[data-email="{email}"]').click()

    def sign_out(self) -> None:
        self.driver.delete_all_cookies()

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css: str, *, timeout: float = 30, text: str | None = None):
        """The element matching ``css`` once it is visible (and contains ``text``, if given)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        # a wait that starts while the page is still being replaced (right after the sign-in
        # click) may look at a node of the old document: Chromium answers "Node with given id
        # does not belong to the document", a plain WebDriverException; polling again sees the
        # new page (a clean-clone CI run failed on it once). A real miss still ends in a timeout.
        wait = WebDriverWait(self.driver, timeout, ignored_exceptions=(WebDriverException,))
        if text is not None:
            wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    @property
    def text(self) -> str:
        return self.find("body").text


@pytest.fixture
def web(chrome, api) -> Iterator[Web]:
    """A signed-out browser at 1280×800 on the live server."""
    chrome.set_window_size(*WINDOW)
    page = Web(chrome, api.base_url)
    page.open("/signin")
    chrome.delete_all_cookies()
    yield page
    chrome.delete_all_cookies()
