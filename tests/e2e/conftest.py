"""Browser fixtures for the end-to-end tests: a real Chromium driven through Playwright.

The browser is Debian's Chromium (scripts/with-chromium exports ASSURA_CHROMIUM), never
one downloaded by Playwright. Every test gets a fresh browser context, so cookies and
storage never leak between tests, and leaves a screenshot of its last page behind in
test-results/screenshots/ for a person to look at when a test fails on CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

E2E_DIR = Path(__file__).parent
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
LOCALE = "zh-CN"

Login = Callable[[Page, str, str], None]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e, so `-m e2e` and `-m "not e2e"` split the suites.

    tryfirst: the marks must be on the items before pytest deselects by `-m`.
    """
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("ASSURA_CHROMIUM") or DEFAULT_CHROMIUM
    if not Path(executable).is_file():
        pytest.fail(f"no Chromium at {executable}; run the tests through scripts/with-chromium")
    # Playwright's sync API keeps an event loop running in this thread for as long as it
    # lives, and Django refuses database calls from a thread with a running loop. The
    # tests' own database calls are synchronous, so the check is lifted, for the browser's
    # lifetime only, not for test sessions that never start a browser.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale=LOCALE)
    fresh = context.new_page()
    yield fresh
    save_screenshot(fresh, screenshot_path(request))
    context.close()


def screenshot_path(request: pytest.FixtureRequest) -> Path:
    """test-results/screenshots/<test name>.png, the name made safe for any file system."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    return request.config.rootpath / "test-results" / "screenshots" / f"{name}.png"


def save_screenshot(page: Page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=path, full_page=True)
    except PlaywrightError as error:
        # A page that crashed or closed has nothing to show; the test's own
        # failure says what went wrong, so a missing screenshot must not hide it.
        print(f"no screenshot for {path.stem}: {error.message}")


@pytest.fixture
def login(live_server: LiveServer) -> Login:
    """`login(page, username, password)`: log in through the login form of the live server."""

    def log_in(page: Page, username: str, password: str) -> None:
        login_path = reverse("web:login")
        page.goto(live_server.url + login_path)
        form = page.locator("form:has(input[name='password'])")
        form.locator("input[name='username']").fill(username)
        form.locator("input[name='password']").fill(password)
        with page.expect_navigation():
            form.locator("button[type='submit']").click()
        if urlsplit(page.url).path == login_path:
            raise AssertionError(f"could not log in as {username!r}: still on the login page")

    return log_in
