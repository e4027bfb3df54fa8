"""Seeded scenarios drawn from real open geography and published figures (`allocator generate`).

Core code: no file I/O. `allocator.io.generator_tables` loads the geography and
`allocator.io.generated_files` writes what is drawn.
"""
