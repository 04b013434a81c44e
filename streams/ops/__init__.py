"""Operator actions on the event log: replaying projections and requesting re-analysis."""
