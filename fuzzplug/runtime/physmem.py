"""The data in physical memory: what a load returns and what survives a power failure.

The mm models move pfns, not bytes. A target that compares what user space reads and what
reaches persistent media (dax_fault) gives the Kernel a `PhysMemory` (`Kernel.memory`);
the models then keep data as tokens, one per 4 KiB page:

- a token is a small int naming the content of a whole page; `ZEROES` (0) is a page of
  zero bytes. A store writes a token over the whole page: the models do not split pages
  into bytes (the dax_fault ops are page-granular);
- system RAM (page-cache pages, anonymous pages, the zero page) is volatile: one token per
  pfn, zeroes when never written;
- persistent memory (the pmem device behind the DAX filesystem: the memory map's device
  range) has two places per pfn: the `media` (what survives power loss) and the CPU
  `cache` (a dirty cache line not yet written back). A user store through a mapping lands
  in the cache; only an explicit write-back (`dax_flush`, i.e. arch_wb_cache_pmem() /
  clwb, which dax_writeback_one() issues for each flushed mapping entry) moves it to the
  media. The cache never evicts on its own: the model takes the worst case the persistence
  domain allows (a store not flushed may be lost), which is the case fsync() exists for.
  Kernel writes through the block layer or copy_from_iter_flushcache() (write(2) on DAX,
  zeroing of new blocks) are non-temporal: they reach the media and drop any dirty line.
  Loads are coherent: they see the cache if it holds the page, else the media.

Sources (read, not copied): arch/x86/include/asm/pmem.h and arch/x86/lib/usercopy_64.c
(arch_wb_cache_pmem, __copy_user_flushcache, memcpy_flushcache), drivers/nvdimm/pmem.c
(write_pmem, pmem_copy_from_iter), drivers/dax/super.c (dax_flush), all v4.13.9, unchanged
in v4.14.5 for what is used here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Memmap(Protocol):
    """What physical memory needs of the models' memory map (`fuzzplug.kernel.state.Memmap`):
    the pmem device's pfn range (inclusive) and the zero page's pfn."""

    device: tuple[int, int]
    zero: int

ZEROES = 0  # the token of a page of zero bytes


@dataclass(slots=True)
class PhysMemory:
    """Page tokens of system RAM and of the pmem device (media and dirty CPU cache lines).

    `zero_page_stores` records every user store that landed on the shared zero page (a
    writable entry for the zero pfn): the kernel would not notice, every later reader of the
    zero page would see the data, so the model keeps it and reports it.
    """

    memmap: Memmap
    ram: dict[int, int] = field(default_factory=dict)
    media: dict[int, int] = field(default_factory=dict)
    cache: dict[int, int] = field(default_factory=dict)
    zero_page_stores: list[int] = field(default_factory=list)

    def is_pmem(self, pfn: int) -> bool:
        """Whether the pfn is persistent memory (the memory map's device range)."""
        lo, hi = self.memmap.device
        return lo <= pfn <= hi

    # --- CPU accesses (user loads and stores, kernel copies through the direct map) ---------

    def load(self, pfn: int) -> int:
        """What a load from the page returns: the dirty cache line if any, else the media
        (pmem), or the RAM page's token (zeroes if never written)."""
        if self.is_pmem(pfn):
            return self.cache.get(pfn, self.media.get(pfn, ZEROES))
        return self.ram.get(pfn, ZEROES)

    def store(self, pfn: int, token: int) -> None:
        """A store of `token` over the page: into the CPU cache for pmem (dirty until
        written back), into RAM otherwise."""
        if pfn == self.memmap.zero:
            self.zero_page_stores.append(token)
        if self.is_pmem(pfn):
            self.cache[pfn] = token
        else:
            self.ram[pfn] = token

    def copy_page(self, dst: int, src: int) -> None:
        """copy_user_page()/copy_user_highpage(): the destination gets what a load of the
        source returns (the copy goes through the cache)."""
        self.store(dst, self.load(src))

    def clear_page(self, dst: int) -> None:
        """clear_user_highpage(), or a page allocated with __GFP_ZERO."""
        self.store(dst, ZEROES)

    # --- non-temporal writes and write-back (pmem) --------------------------------------------

    def write_nt(self, pfn: int, token: int) -> None:
        """A non-temporal write of the whole page (memcpy_flushcache, write_pmem): straight
        to the media, and the page's dirty cache line (if any) is gone."""
        assert self.is_pmem(pfn), "non-temporal page writes are modelled for pmem only"
        self.cache.pop(pfn, None)
        self.media[pfn] = token

    def flush(self, pfn: int) -> bool:
        """arch_wb_cache_pmem() over the page: a dirty line is written back to the media.
        Returns whether there was one."""
        if pfn in self.cache:
            self.media[pfn] = self.cache.pop(pfn)
            return True
        return False

    def durable(self, pfn: int) -> int:
        """What the page holds after a power failure: the media (pmem only)."""
        assert self.is_pmem(pfn), "only pmem is durable"
        return self.media.get(pfn, ZEROES)

    def state(self) -> tuple:
        """Everything above, for cheap comparison."""
        return (tuple(sorted(self.ram.items())), tuple(sorted(self.media.items())),
                tuple(sorted(self.cache.items())), tuple(self.zero_page_stores))

    def to_json(self) -> dict:
        return {"ram": {f"{pfn:#x}": t for pfn, t in sorted(self.ram.items())},
                "media": {f"{pfn:#x}": t for pfn, t in sorted(self.media.items())},
                "cache": {f"{pfn:#x}": t for pfn, t in sorted(self.cache.items())},
                "zero_page_stores": list(self.zero_page_stores)}
