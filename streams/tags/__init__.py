"""Analysis results written back into the audio files' own tags (mutagen)."""
