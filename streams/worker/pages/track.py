"""The Track page (features, history, mixes, playlist) and its playlist as M3U."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from projections.reads import NotAnalysed, TrackNotFound
from schemas.status import TrackStatus
from streams.worker.pages.context import PageContext
from streams.worker.pages.params import ident, whole
from streams.worker.pages.render import e, key_label, link, name_of, num, page, table

TOLERANCE = 0.06  # the CLI's default --bpm-tolerance
# (label, value column, confidence column or None, format) from the current analysis.
_FEATURES = (
    ("Tempo (BPM)", "a_bpm", "a_bpm_confidence", "{:.2f}"),
    ("Key", None, "a_key_strength", ""),
    ("Tuning (cents from A440)", "a_tuning_cents", None, "{:+.1f}"),
    ("Beat grid: first beat (s)", "a_first_beat_s", "a_grid_confidence", "{:.3f}"),
    ("Downbeat (s)", "a_downbeat_s", None, "{:.3f}"),
    ("Beats per bar", "a_beats_per_bar", None, "{}"),
    ("Loudness (LUFS)", "a_loudness_lufs", None, "{:.1f}"),
    ("Loudness range (LU)", "a_loudness_range_lu", None, "{:.1f}"),
    ("Peak (dBFS)", "a_peak_dbfs", None, "{:.1f}"),
    ("Replay gain (dB)", "a_replay_gain_db", None, "{:+.1f}"),
    ("Danceability", "a_danceability", None, "{:.2f}"),
    ("Energy", "a_energy", None, "{:.2f}"),
    ("Arousal", "a_arousal", None, "{:.2f}"),
    ("Valence", "a_valence", None, "{:.2f}"),
    ("Mood", "a_mood", None, "{}"),
    ("Duration (s)", "a_duration_s", None, "{:.1f}"),
    ("Codec / bit rate", None, None, ""),
)


def _feature_rows(t: dict[str, Any]) -> list[list[str]]:
    rows = []
    for label, column, confidence, fmt in _FEATURES:
        if label == "Key":
            value = " ".join(x for x in (key_label(t, "a_"), t.get("a_camelot") or "",
                                         t.get("a_open_key") or "") if x)
        elif column is None:
            rate = t.get("a_bit_rate")
            value = f"{t.get('a_codec') or ''} {'' if rate is None else f'{rate // 1000} kbit/s'}"
        else:
            value = num(t.get(column), fmt)
        rows.append([e(label), e(value.strip() or "—"),
                     num(t.get(confidence), "{:.2f}") if confidence else "—"])
    return rows


def jaeger_ui_link(ui: str, file_id: str) -> str:
    """" · in Jaeger's UI" (a search for the file's spans), when a Jaeger UI is configured."""
    if not ui:
        return ""
    query = {"service": "tracktion-projections", "tags": json.dumps({"file_id": file_id})}
    return " · " + link(f"{ui.rstrip('/')}/search", query, "in Jaeger's UI", ' rel="external"')


async def _graph(run: Awaitable[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """A graph answer, or why there is none (not in the graph yet, not analysed)."""
    try:
        return await run, ""
    except (TrackNotFound, NotAnalysed) as exc:
        return None, exc.message


def _step_rows(steps: list[dict[str, Any]]) -> list[list[str]]:
    return [[link("/track", {"id": s["track"]["file_id"]}, name_of(s["track"])),
             e(s["track"]["artist"]), e(s["track"]["camelot"]), num(s["track"]["bpm"]),
             e(s["relation"] or "seed"),
             "" if s["ratio"] is None else e(f"x{s['ratio']:g} ({s['tempo_diff']:+.1%})"),
             num(s["score"], "{:.3f}")] for s in steps]


_STEP_HEADERS = ("Track", "Artist", "Camelot", "BPM", "Relation", "Tempo ratio", "Score")


async def track(ctx: PageContext, request: web.Request) -> web.Response:
    file_id = ident(request.query, "id", required=True) or ""
    length = whole(request.query, "length", 10, 100)
    detail = await ctx.reads.tracks.track(file_id)  # TrackNotFound: a 404 page
    t, history = detail.track, detail.history
    mixes, why = await _graph(ctx.reads.graph.mix(file_id, TOLERANCE, 20))
    path, _ = await _graph(ctx.reads.graph.playlist(file_id, TOLERANCE, length))
    facts = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in (
        ("Artist", e(t["artist"])), ("Album", e(t["album"])), ("Genre", e(t["genre"])),
        ("Path", f"<code>{e(t['path'])}</code>"), ("Status", e(t["status"])),
        ("File id", f"<code>{e(file_id)}</code>"),
        ("Trace", link("/trace", {"file_id": file_id}, "this file's trace")
         + jaeger_ui_link(ctx.settings.jaeger_ui_url, file_id))))
    if t["status"] == TrackStatus.FAILED:
        facts += f"<dt>Failure</dt><dd>{e(t['failure_reason'])}: {e(t['failure_message'])}</dd>"
    body = [f'<dl class="facts">{facts}</dl>', "<h2>Features</h2>",
            table(("Feature", "Value", "Confidence"), _feature_rows(t), cls="features"),
            "<h2>Analysis history</h2>",
            table(("Time", "Analyser version", "BPM", "Camelot", "Worker", "Cached", "ms"),
                  ([e(h["occurred_at"]), e(h["analyzer_version"]), num(h["bpm"]),
                    e(h["camelot"]), e(h["worker"]), e(h["cached"]), num(h["processing_ms"],
                                                                           "{:.0f}")]
                   for h in history), cls="history"),
            f"<h2>Mixes with ({TOLERANCE:.0%} tempo tolerance)</h2>"]
    if mixes is None:
        body.append(f"<p>{e(why)}</p>")
    else:
        body.append(table(_STEP_HEADERS, _step_rows(mixes["candidates"]), cls="mixes"))
    body.append("<h2>A playlist from here</h2>")
    if path is None:
        body.append(f"<p>{e(why)}</p>")
    else:
        body.append(link("/track.m3u", {"id": file_id, "length": length},
                         "Download as M3U", ' download class="button"'))
        body.append(table(_STEP_HEADERS, _step_rows(path["tracks"]), cls="playlist"))
    return page(name_of(t), "".join(body))


def m3u_text(steps: list[dict[str, Any]]) -> str:
    """Extended M3U of a playlist's tracks; one-line labels, paths with line breaks left out."""
    lines = ["#EXTM3U"]
    for s in steps:
        tr = s["track"]
        if not tr["path"] or "\n" in tr["path"] or "\r" in tr["path"]:
            continue
        name = f"{tr['artist']} - {name_of(tr)}" if tr["artist"] else name_of(tr)
        label = " ".join(name.split())
        lines += [f"#EXTINF:-1,{label}", tr["path"]]
    return "\n".join(lines) + "\n"


async def track_m3u(ctx: PageContext, request: web.Request) -> web.Response:
    file_id = ident(request.query, "id", required=True) or ""
    length = whole(request.query, "length", 10, 100)
    # An unknown track is a 404 page, one not analysed yet a 409 (the error middleware).
    path = await ctx.reads.graph.playlist(file_id, TOLERANCE, length)
    return web.Response(text=m3u_text(path["tracks"]), content_type="audio/x-mpegurl",
                        charset="utf-8", headers={
                            "Content-Disposition": 'attachment; filename="playlist.m3u8"',
                            "X-Content-Type-Options": "nosniff"})
