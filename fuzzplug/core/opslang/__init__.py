"""A schema-driven op language: op sequences as text (for people) and bytes (for libFuzzer).

A target describes its operations with a :class:`Schema`: a tuple of :class:`OpSpec`, each
with typed arguments (:class:`ArgSpec`). This module knows nothing about any target; it
turns op sequences into text and bytes and back, and checks them against the schema.

Ops come in two groups. *Scene* ops (``OpSpec.scene``) describe the setup (a config, the
VMAs); each appears at most once and all of them precede the first *call*. Calls are the
operations under test and may repeat.

Text form
---------
One op per line, ``name key=value ...``; ``#`` starts a comment; blank lines are ignored.
Missing keys take their defaults. Values are decimal or ``0x`` hex ints; FLAGS also take
names joined with ``|`` (``0`` is none); CHOICE also takes a name. Example::

    # name: write fault on a mixed map
    # expect: same
    config arch=arm64
    vma start=0x100000 end=0x200000 flags=VM_READ|VM_WRITE|VM_MIXEDMAP
    vm_insert_mixed addr=0x100000 pfn=0x1234 flags=PFN_DEV
    fault addr=0x100000 flags=FAULT_FLAG_WRITE

Binary form
-----------
=====================  ===================================================================
bytes                  meaning
=====================  ===================================================================
byte 0                 format version (``Schema.version``); every value is accepted and,
                       today, decoded with the current rules
op byte ``b``          selects op id ``b % len(schema.ops)``
arg, per spec order    unsigned LEB128 varint: 7 bits a byte, low group first, bit 7 set
                       on every byte but the last; at most 10 bytes, masked to 64 bits
addr arg               two varints: ``v >> 12`` (page) then ``v & 0xfff`` (offset, masked
                       to 0xfff); the combined value is masked to 64 bits
FLAGS arg              a varint, masked to the known flag bits ``(1 << len(names)) - 1``
CHOICE arg             a varint, reduced modulo ``len(names)``
end of data            an arg that is missing or cut off mid-varint, and every arg after
                       it, takes its default (a final op byte is a whole op of defaults)
=====================  ===================================================================

:func:`decode` is total: every byte string decodes to a valid sequence. Scene ops after
the first call and repeated scene ops are dropped (their bytes still consumed); at most
``Schema.max_ops`` ops are kept. ``encode(decode(b))`` is the canonical form of ``b``.

Ops are independent byte runs: changing an arg byte without changing its continuation
bit (bit 7) changes that arg only; changing an op byte changes that op and re-frames the
bytes after it.

**Op ids are stable**: they are the op bytes of every stored corpus and crash file. Add new
ops at the end with the next id; never renumber, reuse or remove an id. Never add, remove
or reorder the args of an existing op either (that re-frames every stored input after
it): add a new op instead, or bump ``Schema.version``.

The language's public API is this package's; its modules hold one concept each: `spec`
(the schema: :class:`Schema`, :class:`OpSpec`, :class:`ArgSpec`, :class:`ArgKind`, and
how an arg's value reads and prints), `ops` (:class:`Op` and the rules of a sequence,
:func:`validate`), `text` (the text form and the scenario header) and `binary` (the
binary form and the libFuzzer dictionary).
"""

from __future__ import annotations

from fuzzplug.core.opslang.binary import (
    ADDR_LOW_MASK,
    ADDR_SHIFT,
    MAX_VARINT_BYTES,
    decode,
    dictionary,
    encode,
)
from fuzzplug.core.opslang.ops import Op, validate
from fuzzplug.core.opslang.spec import U64_MAX, ArgKind, ArgSpec, OpSpec, Schema
from fuzzplug.core.opslang.text import format_text, parse_header, parse_text, parse_text_lines

__all__ = [
    "ADDR_LOW_MASK",
    "ADDR_SHIFT",
    "ArgKind",
    "ArgSpec",
    "MAX_VARINT_BYTES",
    "Op",
    "OpSpec",
    "Schema",
    "U64_MAX",
    "decode",
    "dictionary",
    "encode",
    "format_text",
    "parse_header",
    "parse_text",
    "parse_text_lines",
    "validate",
]
