"""Picture files in and out: decoding by content (orientation, colour profile, damaged and hostile files refused
before any pixel is decoded), the metadata a result carries, the pixel limit, and encoding results atomically."""
