"""Media in and out, all through the bundled FFmpeg: probe, scan, decode, encode and mux, still images.

Nothing here knows about engines or stages: modules read and write pixels, timestamps and streams.
"""
