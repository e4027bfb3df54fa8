"""What-if capacity testing: a study of changes to a base book, checked, expanded and applied.

`study` holds the format and its models, `check` finds every mistake against the base book
before any solve, `apply` builds each variant's book. `allocator.io.whatif_files` reads the file.
"""

from allocator.whatif.apply import Applied, apply
from allocator.whatif.check import check, check_scenario
from allocator.whatif.study import MAX_SCENARIOS, Study, Variant, WhatIf, expand

__all__ = [
    "MAX_SCENARIOS",
    "Applied",
    "Study",
    "Variant",
    "WhatIf",
    "apply",
    "check",
    "check_scenario",
    "expand",
]
