"""Tags projection: the latest analysis of each file written into the file's own tags."""
