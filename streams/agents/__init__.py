"""Faust agents and the logic they call: analysis of file events into analysis events."""
