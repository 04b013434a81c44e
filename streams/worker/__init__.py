"""The long-running worker process: roles (bridge, analysis, projections) plus its web server."""
