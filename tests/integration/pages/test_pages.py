"""The HTML pages in a real browser (Debian's chromium) against a real projections worker
over a generated library: filters, wheel counts, mixes, XSS, 400 pages, live progress."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from infra.kafka_admin import ensure_topics
from infra.settings import Settings
from projections.redis.progress import read_batch
from projections.redis.writer import connect
from schemas.namespace import Namespace
from tests.e2e.support import cleanup_namespace, free_port
from tests.integration.kafka_utils import produce_events
from tests.integration.pages.browser import chromium
from tests.integration.pages.library import (
    REPO,
    XSS,
    get_json,
    library_events,
    outcome_events,
    poll_worker_or_fail,
    start_worker,
    track_spec,
)

SERVICES = ("kafka", "postgres", "neo4j", "redis")
N_TRACKS, N_LIVE = 60, 12
# Read in one script call: the page replaces its rows on every event (no stale handles).
PERCENT = ("const c = document.querySelector('table.batches .pct');"
           "return c ? c.textContent.trim() : '';")
SHOTS = os.environ.get("TRACKTION_SCREENSHOTS") == "1"  # refresh docs/images/ from these runs


@dataclass(frozen=True)
class Site:
    base: str
    prefix: str
    library_cid: str
    live_cid: str

    def url(self, path: str, **params: str) -> str:
        query = urllib.parse.urlencode(params)
        return f"{self.base}{path}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
async def site(settings: Settings) -> AsyncIterator[Site]:
    prefix = f"pg{uuid.uuid4().hex[:10]}"
    lib, live = f"{prefix}-lib", f"{prefix}-live"
    await ensure_topics(settings.kafka_bootstrap_servers, 3, Namespace(prefix))
    await produce_events(settings.kafka_bootstrap_servers, prefix,
                         library_events(lib, N_TRACKS) + library_events(live, N_LIVE, False))
    port = free_port()
    log = REPO / ".stack" / f"pages-worker-{prefix}.log"
    log.parent.mkdir(exist_ok=True)
    worker = start_worker(prefix, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        def caught_up() -> bool:
            rows = get_json(f"{base}/api/tracks?status=all&limit=1000")
            analysed = [r for r in rows if r["status"] == "analysed"]
            if len(rows) < N_TRACKS + N_LIVE or not analysed:
                return False
            mix = get_json(f"{base}/api/mix?" + urllib.parse.urlencode(
                {"track": analysed[0]["file_id"], "limit": "3"}))
            return bool(mix["candidates"])

        await poll_worker_or_fail(caught_up, 120, "the projections", worker, log)
        yield Site(base, prefix, lib, live)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        await cleanup_namespace(settings, prefix)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: webdriver.Chrome, name: str) -> None:
    if SHOTS:
        (REPO / "docs" / "images").mkdir(exist_ok=True)
        driver.save_screenshot(str(REPO / "docs" / "images" / f"{name}.png"))


def column(driver: webdriver.Chrome, n: int) -> list[str]:
    return [td.text for td in driver.find_elements(
        By.CSS_SELECTOR, f"table.tracks tbody tr td:nth-child({n})")]


def total(driver: webdriver.Chrome) -> int:
    return int(driver.find_element(By.ID, "count").get_attribute("data-total") or -1)


def status_of(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


async def pg_rows(settings: Settings, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_filters_and_sorting_change_the_rows(site: Site, browser: webdriver.Chrome,
                                                   settings: Settings) -> None:
    browser.get(site.url("/library"))
    assert total(browser) == N_TRACKS + N_LIVE and len(column(browser, 2)) == 50
    shot(browser, "library")
    if SHOTS:  # the same page on a phone-sized window
        browser.set_window_size(390, 844)
        shot(browser, "library-phone")
        browser.set_window_size(1280, 900)
    browser.find_element(By.TAG_NAME, "body").send_keys("/")  # the search shortcut
    assert browser.switch_to.active_element.get_attribute("name") == "search"
    key = browser.find_element(By.NAME, "key")
    key.send_keys("8A")
    key.send_keys(Keys.ENTER)
    WebDriverWait(browser, 5).until(lambda d: "key=8A" in d.current_url)
    want = (await pg_rows(settings, f"SELECT count(*) FROM {site.prefix}.tracks "
                                    "WHERE camelot = '8A' AND status <> 'deleted'"))[0][0]
    assert total(browser) == want > 0 and set(column(browser, 6)) == {"8A"}
    # The URL holds the view: reopening it gives the same rows.
    rows = column(browser, 2)
    browser.get(browser.current_url)
    assert column(browser, 2) == rows
    browser.get(site.url("/library", bpm="100..120", min_confidence="0.5", status="analysed"))
    bpms = [float(b) for b in column(browser, 3)]
    assert bpms and all(100 <= b <= 120 for b in bpms)
    assert all(float(c) >= 0.5 for c in column(browser, 4))
    # Sorting is a link in the header; a second click reverses it.
    browser.find_element(By.LINK_TEXT, "BPM").click()
    bpms = [float(b) for b in column(browser, 3)]
    assert bpms == sorted(bpms) and "sort=bpm" in browser.current_url
    browser.find_element(By.PARTIAL_LINK_TEXT, "BPM").click()
    assert [float(b) for b in column(browser, 3)] == sorted(bpms, reverse=True)
    browser.get(site.url("/library", compatible_with="8A", sort="key"))
    assert set(column(browser, 6)) <= {"8A", "9A", "7A", "8B"} and total(browser) > want
    browser.get(site.url("/library", search="Song 01"))
    titles = column(browser, 2)
    assert titles and all("Song 01" in t for t in titles[:10])


async def test_wheel_counts_match_postgres_and_clicks_filter(
        site: Site, browser: webdriver.Chrome, settings: Settings) -> None:
    browser.get(site.url("/wheel"))
    shown = {s.get_attribute("data-key"): int(s.get_attribute("data-count") or -1)
             for s in browser.find_elements(By.CSS_SELECTOR, "a.seg")}
    rows = await pg_rows(settings, f"SELECT camelot, count(*) FROM {site.prefix}.tracks "
                                   "WHERE status <> 'deleted' AND camelot IS NOT NULL "
                                   "GROUP BY camelot")
    assert len(shown) == 24
    assert {k: n for k, n in shown.items() if n} == {r[0]: r[1] for r in rows}
    bars = {b.get_attribute("data-bpm"): int(b.get_attribute("data-count") or -1)
            for b in browser.find_elements(By.CSS_SELECTOR, "a.bar")}
    assert sum(bars.values()) == sum(shown.values())
    shot(browser, "wheel")
    # Keyboard: Tab reaches the wheel's segments, Enter follows one.
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(30):
        body = browser.switch_to.active_element
        if (body.get_attribute("class") or "").startswith("seg"):
            break
        body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    key = focused.get_attribute("data-key")
    assert key is not None, "Tab never reached a wheel segment"
    focused.send_keys(Keys.ENTER)
    WebDriverWait(browser, 5).until(lambda d: "/library" in d.current_url)
    assert total(browser) == shown[key] and f"key={key}" in browser.current_url
    browser.get(site.url("/wheel"))
    browser.find_element(By.CSS_SELECTOR, 'a.seg[data-key="8A"]').click()
    WebDriverWait(browser, 5).until(lambda d: "/library" in d.current_url)
    assert total(browser) == shown["8A"]
    browser.get(site.url("/wheel"))
    edge, count = max(bars.items(), key=lambda kv: kv[1])
    browser.find_element(By.CSS_SELECTOR, f'a.bar[data-bpm="{edge}"]').click()
    WebDriverWait(browser, 5).until(lambda d: "/library" in d.current_url)
    assert total(browser) == count


def _cli_mix(site: Site, file_id: str) -> list[tuple[str, str, str]]:
    """`tracktion query mix --json`: (file id, relation, tempo ratio as the page prints it)."""
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "query", "mix", file_id, "--json",
         "--namespace", site.prefix, "--limit", "20"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    return [(c["track"]["file_id"], c["relation"], f"x{c['ratio']:g} ({c['tempo_diff']:+.1%})")
            for c in json.loads(out.stdout)["candidates"]]


def _ids(driver: webdriver.Chrome, table: str) -> list[str]:
    links = driver.find_elements(By.CSS_SELECTOR, f"table.{table} tbody td:first-child a")
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(a.get_attribute("href") or "").query)
            ["id"][0] for a in links]


async def test_track_page_mixes_match_the_cli_and_the_playlist_downloads(
        site: Site, browser: webdriver.Chrome) -> None:
    rows = get_json(f"{site.base}/api/tracks?key=8A&status=analysed&limit=5")
    seed = rows[0]["file_id"]
    browser.get(site.url("/track", id=seed))
    shot(browser, "track")
    features = browser.find_element(By.CSS_SELECTOR, "table.features").text
    assert f"{rows[0]['bpm']:.2f}" in features and f"{rows[0]['bpm_confidence']:.2f}" in features
    assert browser.find_elements(By.CSS_SELECTOR, "table.history tbody tr")
    cells = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
             for tr in browser.find_elements(By.CSS_SELECTOR, "table.mixes tbody tr")]
    shown = list(zip(_ids(browser, "mixes"), (c[4] for c in cells), (c[5] for c in cells),
                     strict=True))
    assert shown and shown == await asyncio.to_thread(_cli_mix, site, seed)
    status, m3u, _ = status_of(site.url("/track.m3u", id=seed, length="5"))
    playlist = get_json(site.url("/api/playlist", track=seed, length="5"))
    assert status == 200 and m3u.startswith("#EXTM3U\n")
    paths = [line for line in m3u.splitlines() if line and not line.startswith("#")]
    assert paths == [t["track"]["path"] for t in playlist["tracks"]]
    ten = get_json(site.url("/api/playlist", track=seed, length="10"))  # the page's default
    assert _ids(browser, "playlist") == [t["track"]["file_id"] for t in ten["tracks"]]
    trace = browser.find_element(By.LINK_TEXT, "this file's trace").get_attribute("href") or ""
    assert f"file_id={seed}" in trace


async def test_xss_titles_stay_inert_text(site: Site, browser: webdriver.Chrome) -> None:
    ids = {t["title"]: t["file_id"] for t in get_json(
        site.url("/api/tracks", search="Artist", status="all", limit="1000"))}
    for url in (site.url("/library", sort="title"),
                site.url("/library", search="script"),
                site.url("/track", id=ids[XSS[0]]), site.url("/track", id=ids[XSS[1]])):
        browser.get(url)
        main = browser.find_element(By.TAG_NAME, "main")
        assert browser.execute_script("return window.__alerts") == 0, url
        assert not main.find_elements(By.TAG_NAME, "img"), url
        assert not main.find_elements(By.TAG_NAME, "script"), url
        if "/track" in url:
            assert browser.find_element(By.TAG_NAME, "h1").text in XSS, url
        else:
            assert all(x in main.text for x in XSS) or XSS[0] in main.text, url
    status, _, headers = status_of(site.url("/library"))
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


BAD = [("/library", {"bpm": "fast"}, "BPM"), ("/library", {"key": "H#"}, "not a key"),
       ("/library", {"min_confidence": "2"}, "confidence"),
       ("/library", {"status": "gone"}, "status must be one of"),
       ("/library", {"sort": "path; drop table"}, "sort must be one of"),
       ("/library", {"page": "0"}, "page must be"), ("/library", {"page": "x" * 5000}, "longer"),
       ("/library", {"search": "a\x00b"}, "NUL byte"), ("/library", {"file": "/etc/passwd"},
                                                          "unknown parameter"),
       ("/wheel", {"width": "-3"}, "width must be"), ("/track", {}, "id is required"),
       ("/track", {"id": "../../etc/passwd"}, "not an id"),
       ("/track.m3u", {"id": "x", "length": "1000"}, "length must be"),
       ("/progress", {"batch": "a b"}, "not an id"), ("/failures", {"page": "-1"}, "page must"),
       ("/trace", {"file_id": "a", "correlation_id": "b"}, "not both")]


async def test_bad_parameters_get_a_400_page(site: Site, browser: webdriver.Chrome) -> None:
    wrong = []
    for path, params, words in BAD:
        status, body, headers = status_of(site.url(path, **params))
        if status != 400 or words not in body or "text/html" not in headers["Content-Type"]:
            wrong.append(f"{path} {str(params)[:60]}: {status} {body[-300:]!r}")
    assert not wrong, "\n".join(wrong)
    browser.get(site.url("/library", bpm="fast"))
    assert "not a BPM range" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    status, _, _ = status_of(site.url("/track", id="no-such-id"))
    assert status == 404


async def test_failures_page_lists_reason_message_and_the_command(
        site: Site, browser: webdriver.Chrome) -> None:
    failed = [i for i in range(N_TRACKS) if track_spec(i)["failed"]]
    browser.get(site.url("/failures"))
    shot(browser, "failures")
    assert total(browser) == len(failed)
    text = browser.find_element(By.CSS_SELECTOR, "table.failures").text
    assert "corrupt" in text and "bad frame <b>16</b>" in text
    assert "tracktion reanalyse --file /music/pages/" in text


async def test_progress_page_reaches_100_percent_live(site: Site, browser: webdriver.Chrome,
                                                      settings: Settings) -> None:
    browser.get(site.url("/progress", batch=site.live_cid))
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "live").get_attribute("data-updates"))
    assert browser.execute_script(PERCENT) == "0.0 %"
    browser.execute_script("window.__notReloaded = true;")
    redis = connect(settings.redis_url)
    try:
        events = [e for i in range(N_LIVE) for e in outcome_events(site.live_cid, i)]
        await produce_events(settings.kafka_bootstrap_servers, site.prefix, events)
        deadline = time.monotonic() + 60
        while True:  # the projection's write, as the Redis table shows it
            batch = await read_batch(redis, f"{site.prefix}:", site.live_cid)
            if batch is not None and batch.done:
                redis_done = time.monotonic()
                break
            assert time.monotonic() < deadline, f"batch never done in Redis: {batch}"
            await asyncio.sleep(0.02)
    finally:
        await redis.aclose()
    WebDriverWait(browser, 10, poll_frequency=0.05).until(
        lambda d: d.execute_script(PERCENT) == "100.0 %")
    late = time.monotonic() - redis_done
    print(f"progress page at 100 % {late:.3f} s after the Redis table")
    assert browser.execute_script("return window.__notReloaded") is True
    assert late <= 1.0, f"the page showed 100 % {late:.2f} s after Redis"
    states = {td.text for td in browser.find_elements(
        By.CSS_SELECTOR, "table.files tbody td:nth-child(2)")}
    assert states <= {"analysed", "failed"} and "analysed" in states
    shot(browser, "progress")


async def test_trace_page_draws_a_waterfall(site: Site, browser: webdriver.Chrome,
                                            tmp_path: Path) -> None:
    # A real trace: `tracktion publish` starts it, the worker's projections add their spans.
    song = tmp_path / "traced.wav"
    song.write_bytes(b"RIFF" + uuid.uuid4().bytes * 64)
    cid = f"{site.prefix}-traced"
    await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "streams.cli.main", "publish", str(song), "--via", "kafka",
        "--prefix", site.prefix, "--correlation-id", cid], cwd=REPO, check=True,
        capture_output=True, timeout=120)

    def waterfall() -> list[str]:
        browser.get(site.url("/trace", correlation_id=cid))
        rows = browser.find_elements(By.CSS_SELECTOR, "table.waterfall tr.span")
        return [r.text for r in rows]

    deadline = time.monotonic() + 30
    spans = waterfall()
    while not any("project" in s for s in spans) and time.monotonic() < deadline:
        time.sleep(1)
        spans = waterfall()
    assert any(s.startswith("publish FileDiscovered") for s in spans), spans
    assert any(s.startswith("project postgres") for s in spans), spans
    # Each span row opens to its attributes, the batch's correlation id among them.
    browser.find_element(By.CSS_SELECTOR, "table.waterfall tr.span details summary").click()
    assert cid in browser.find_element(By.CSS_SELECTOR, "table.waterfall details dl").text
    shot(browser, "trace")


def test_pages_stay_small() -> None:
    static = Path(REPO / "streams" / "worker" / "pages" / "static")
    assert sum(p.stat().st_size for p in static.iterdir()) < 30_000


async def test_an_open_event_stream_does_not_hold_up_shutdown(settings: Settings) -> None:
    import aiohttp
    from aiohttp import web

    from streams.worker.pages import add_pages

    app = web.Application()
    add_pages(app, "tracktion", "live", f"sse{uuid.uuid4().hex[:8]}:", settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        resp = await session.get(f"http://127.0.0.1:{port}/progress/events")
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
        assert first.startswith(b"event: progress\ndata: {")
        started = time.monotonic()
        await runner.cleanup()
        assert time.monotonic() - started < 5, "shutdown waited for the event stream"
        resp.close()
