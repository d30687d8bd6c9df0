"""Signing in to the web app as a test does it, in one place: the Gradio login (`/login` of the chat,
or `/admin/login` of the admin app mounted at ADMIN_PATH), the 资料库 admin login as the page sends it
(over HTTP, or in Chromium), and calling an API by name."""

from __future__ import annotations

import json
import time

import httpx

from chatbot.ui.asgi import ADMIN_PATH


def client(address: str | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address) if address else None
    return httpx.Client(transport=transport, trust_env=False, timeout=60)


def login(url, user, password, address=None, multipart=False, headers=None) -> httpx.Response:
    with client(address) as c:
        form = {"username": user, "password": password}
        if multipart:
            return c.post(f"{url}/login", files={k: (None, v) for k, v in form.items()}, headers=headers)
        return c.post(f"{url}/login", data=form, headers=headers)


def session(url, user, password, address=None) -> httpx.Client:
    """A logged-in client (waiting out a user name slowed down by an earlier test's guesses)."""
    c = client(address)
    for _ in range(15):
        r = c.post(f"{url}/login", data={"username": user, "password": password})
        if r.status_code != 429:
            break
        time.sleep(int(r.headers.get("retry-after", "1")))
    assert r.status_code == 200, r.text
    return c


def admin_session(url, user, password, address=None) -> httpx.Client:
    """A client logged in to the admin app (`url`: the chat's root; the app is mounted at ADMIN_PATH
    behind a Gradio login of its own with the admin's credentials)."""
    return session(f"{url}{ADMIN_PATH}", user, password, address)


def call(c: httpx.Client, url: str, name: str, data: list, headers=None) -> tuple[str, object]:
    """An API call by name through the queue: ("complete" | "error" | "http", data or status)."""
    r = c.post(f"{url}/gradio_api/call/{name}", json={"data": data}, headers=headers)
    if r.status_code != 200:
        return "http", r.status_code
    event = None
    with c.stream("GET", f"{url}/gradio_api/call/{name}/{r.json()['event_id']}") as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                text = line[5:].strip()
                return event, (json.loads(text) if text and text != "null" else None)
    return "none", None


def page_event(c: httpx.Client, url: str, fn: str, data: list, session_hash: str, event_data: dict | None = None) -> dict:
    """What the page's JavaScript does for a queued UI event (`event_data`: a like's, say): join,
    then read the session's stream."""
    ids = {d["api_name"]: d["id"] for d in c.get(f"{url}/config").json()["dependencies"]}
    body = {"data": data, "fn_index": ids[fn], "session_hash": session_hash, "event_data": event_data, "trigger_id": None}
    assert c.post(f"{url}/gradio_api/queue/join", json=body).status_code == 200
    with c.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session_hash}) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no process_completed")


def admin_token(c: httpx.Client, url: str, user: str, password: str) -> str:
    """Sign in on the 资料库 tab of the admin app (`c`: an admin_session; `url`: the chat's root) as
    the page does; the upload token it hands the page."""
    msg = page_event(c, f"{url}{ADMIN_PATH}", "do_login", [user, password], "adminpage01")
    return msg["output"]["data"][6]


def admin_page(browser, url: str, user: str, password: str):
    """A Chromium page logged in to the admin app (its Gradio login, in the page's browser context)
    and signed in on its 资料库 tab (the file table shown); `url`: the chat's root."""
    page = browser.new_page()
    r = page.request.post(f"{url}{ADMIN_PATH}/login", form={"username": user, "password": password})
    assert r.ok, r.text()
    page.goto(f"{url}{ADMIN_PATH}/")
    page.get_by_role("tab", name="资料库").click()
    page.locator("#admin-user textarea, #admin-user input").first.fill(user)
    page.locator("#admin-password input").fill(password)
    page.locator("#admin-login").click()
    page.wait_for_selector("#admin-table")
    return page
