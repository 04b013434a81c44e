"""The local stack: installs, starts, checks and stops every server the pipeline needs."""
