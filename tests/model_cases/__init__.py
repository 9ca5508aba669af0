"""Named scenarios that drive the kernel models through every modelled branch.

Not a test module. Each case is a function that takes a model module (`v4_13` or `v4_14`),
boots a kernel, makes the calls a driver, a user access or the rest of the kernel would make,
and returns the `Kernel` for the caller to inspect. `tests/test_model_branches_*.py` assert on
what each case leaves behind (one test per branch id); `tests/test_model_coverage.py` runs
every case to check that each branch id a model declares is reached.

The package: `scene` (the one-VMA kernel, the calls with their markers, hand-made state),
`registry` (`Case`, `CASES`, `@case`), and the cases by the path they drive: `inserts`, `zaps`,
`faults`, `mkwrite`, `mmu`, `odd_entries`, imported in that order so that `CASES` keeps it.
Every public name is re-exported here: `import model_cases as mc` reaches them all.

How the cases call the models: `call()` wraps an entry point of mm/memory.c (the driver's
view), `user_fault()` a user access through the x86 fault entry, `forced_write()` a FOLL_FORCE
write (ptrace) that reaches handle_mm_fault() without the VM_WRITE check, `zap()` an
unmapping. Each records a CALL event before and a RET event after (with the return value and
where the call's branch ids start and end), so a test can pick one call's events apart.

Hand-made state is built as the kernel would build it and says so in the case's docstring:
PTEs go in with the model's get_locked_pte() and the architecture's set_pte_at() (as
remap_pfn_range() and do_anonymous_page() install them), references and mapcounts with the mm
helpers. Concurrency, which the models do not have, is played by a callback stand-in: the
vm_ops callback (or the allocation) runs where the kernel has dropped the PTE lock, and the
stand-in does there what another thread may do (a MADV_DONTNEED zap), or returns what a real
callback may return (filemap_page_mkwrite() on a truncated page).
"""

from .scene import *  # noqa: F401,F403
from .registry import *  # noqa: F401,F403
from .inserts import *  # noqa: F401,F403
from .zaps import *  # noqa: F401,F403
from .faults import *  # noqa: F401,F403
from .mkwrite import *  # noqa: F401,F403
from .mmu import *  # noqa: F401,F403
from .odd_entries import *  # noqa: F401,F403
