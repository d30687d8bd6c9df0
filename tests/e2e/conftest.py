"""The browser every end-to-end test module drives: Debian's Chromium through Playwright, one per module."""

import pytest

from tests.helpers.documents import CHROMIUM, LAUNCH_ARGS


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()

