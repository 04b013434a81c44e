"""The pages' pure parts: parameter parsing to 400s, escaping, the wheel and histogram SVG."""

from __future__ import annotations

import re

import pytest

from infra.jaeger_query import SpanNode
from streams.worker.pages.library import histogram_svg, wheel_svg
from streams.worker.pages.params import PAGE_SIZE, PageError, ident, library_view
from streams.worker.pages.render import CSP, e, link
from streams.worker.pages.trace import waterfall
from streams.worker.pages.track import m3u_text


def test_a_library_view_round_trips_its_filters_and_pages() -> None:
    view = library_view({"key": "Am", "bpm": "120..128", "sort": "bpm", "dir": "desc",
                         "page": "3", "min_confidence": "0.6"})
    assert view.query.key is not None and view.query.key.as_camelot() == "8A"
    assert view.query.bpm == (120.0, 128.0) and view.query.min_confidence == 0.6
    assert (view.sort, view.descending, view.offset) == ("bpm", True, 2 * PAGE_SIZE)
    assert view.params["key"] == "Am" and "limit" not in view.params


@pytest.mark.parametrize(("params", "words"), [
    ({"bpm": "fast"}, "not a BPM range"), ({"key": "H"}, "not a key"),
    ({"min_confidence": "1.5"}, "confidence must be between 0 and 1"),
    ({"status": "x"}, "status must be one of"), ({"sort": "path"}, "sort must be one of"),
    ({"dir": "up"}, "dir must be asc or desc"), ({"page": "0"}, "page must be a whole"),
    ({"page": "1e3"}, "page must be a whole"), ({"limit": "5"}, "unknown parameter"),
    ({"search": "x" * 5000}, "longer than 4096"), ({"search": "\x00"}, "NUL byte"),
])
def test_bad_library_parameters_are_400_with_the_parameter_named(
        params: dict[str, str], words: str) -> None:
    with pytest.raises(PageError) as caught:
        library_view(params)
    assert caught.value.status == 400 and words in caught.value.message


def test_ids_refuse_paths_and_markup() -> None:
    assert ident({"id": "1f0c-aa.b:c_d"}, "id") == "1f0c-aa.b:c_d"
    for bad in ("../etc/passwd", "/abs", "a b", "<x>", "-leading"):
        with pytest.raises(PageError):
            ident({"id": bad}, "id")


def test_everything_shown_is_escaped_and_inline_scripts_are_forbidden() -> None:
    assert e('"><img src=x onerror=alert(1)>') == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert e("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert '"' not in link("/track", {"id": 'a"b'}, "t").split('href="')[1].split('"')[0]
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP


def test_the_wheel_has_24_linked_segments_with_their_counts() -> None:
    svg = wheel_svg({"8A": 5, "12B": 1})
    segments = re.findall(r'href="/library\?key=(\d+[AB])"[^>]*data-count="(\d+)"', svg)
    assert len(segments) == 24 and ("8A", "5") in segments and ("12B", "1") in segments
    assert ("1A", "0") in segments and "style=" not in svg


def test_the_histogram_fills_empty_bins_and_links_each_range() -> None:
    svg = histogram_svg([(120, 3), (135, 1)], 5)
    bars = re.findall(r'href="/library\?bpm=([\d.]+\.\.[\d.]+)"[^>]*data-count="(\d+)"', svg)
    assert bars == [("120..124.999", "3"), ("125..129.999", "0"), ("130..134.999", "0"),
                    ("135..139.999", "1")]


def test_m3u_keeps_one_line_labels_and_skips_paths_with_line_breaks() -> None:
    def step(path: str, title: str) -> dict[str, object]:
        return {"track": {"path": path, "title": title, "artist": "A\nB", "file_id": "x"}}

    text = m3u_text([step("/m/a.mp3", "One"), step("/m/b\n.mp3", "Two")])
    assert text == "#EXTM3U\n#EXTINF:-1,A B - One\n/m/a.mp3\n"


def test_the_waterfall_escapes_span_names_and_attributes() -> None:
    child = SpanNode("2", "<b>child</b>", "svc", 1_500, 500, {"error": True, "x": "<i>"})
    root = SpanNode("1", "root", "svc", 1_000, 2_000, {}, [child])
    html = waterfall("abc", [root])
    assert html.count('<tr class="span') == 2 and "&lt;b&gt;child" in html
    assert "&lt;i&gt;" in html and 'class="span error"' in html and "<i>" not in html


def test_the_jaeger_ui_link_appears_only_when_a_ui_is_configured() -> None:
    from streams.worker.pages.track import jaeger_ui_link

    assert jaeger_ui_link("", "f1") == ""
    html = jaeger_ui_link("http://127.0.0.1:16686/", "f1")
    assert 'href="http://127.0.0.1:16686/search?service=tracktion-projections&amp;tags=' in html
    assert "%22file_id%22%3A+%22f1%22" in html
