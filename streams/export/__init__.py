"""Exports of the read model into DJ software: Rekordbox XML, Traktor NML, extended M3U."""
