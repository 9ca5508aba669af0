"""The models of the chain are siblings: each adjacent pair differs by one commit only.

The chain is v4.13 → v4.14 (the seed) → v4.14 + f2c57d91b0d9 → v4.14 + f2c57d91b0d9 +
cae85cb8add3. "mm: add vm_insert_mixed_mkwrite()" (b2770da64254) changes insert_pfn() (new
`mkwrite`), vm_insert_pfn_prot() (passes false), and turns vm_insert_mixed() into a wrapper
of the new static __vm_insert_mixed(), with the exported twin vm_insert_mixed_mkwrite() after
it. In mm/memory.c of v4.14 __vm_insert_mixed() stands where vm_insert_mixed() stood, and
vm_insert_mixed() and vm_insert_mixed_mkwrite() follow it, in that order. Each of the two
fixes changes insert_pfn() only, and the lines it adds and removes there are the fix's
(`FIX_DIFFS`, read from the stable 4.14 postings of the fixes in the linux-mm archive).
"""

from __future__ import annotations

import ast
import difflib
import inspect
from types import ModuleType

import pytest

from fuzzplug.kernel import (
    v4_13,
    v4_14,
    v4_14_f2c57d91b0d9,
    v4_14_f2c57d91b0d9_cae85cb8add3,
)

PATCHED = ("insert_pfn", "vm_insert_pfn_prot", "vm_insert_mixed", "__vm_insert_mixed",
           "vm_insert_mixed_mkwrite")
ADDED = ("__vm_insert_mixed", "vm_insert_mixed_mkwrite")


def _body(model: ModuleType) -> list[ast.stmt]:
    return ast.parse(inspect.getsource(model)).body


def _functions(model: ModuleType) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in _body(model) if isinstance(node, ast.FunctionDef)}


def _order(model: ModuleType) -> list[str]:
    return [node.name for node in _body(model) if isinstance(node, ast.FunctionDef)]


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _is_version(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "VERSION")


def _module_level(model: ModuleType) -> list[str]:
    """Every module-level statement that is not a function, the docstring or VERSION."""
    body = _body(model)
    if body and _is_docstring(body[0]):
        body = body[1:]
    return [ast.dump(node) for node in body
            if not isinstance(node, ast.FunctionDef) and not _is_version(node)]


def test_v4_14_defines_the_functions_of_v4_13_in_the_same_order_plus_the_two_the_patch_adds():
    """v4.14's order is v4.13's with __vm_insert_mixed right before vm_insert_mixed and
    vm_insert_mixed_mkwrite right after it, as in the C."""
    before, after = _order(v4_13), _order(v4_14)
    assert not set(ADDED) & set(before)
    at = before.index("vm_insert_mixed")
    expected = (before[:at] + ["__vm_insert_mixed", "vm_insert_mixed",
                               "vm_insert_mixed_mkwrite"] + before[at + 1:])
    assert after == expected


def test_every_function_the_patch_does_not_touch_is_identical_in_both_models():
    """Same ast (name, signature, docstring, body) for every function outside the patch."""
    before, after = _functions(v4_13), _functions(v4_14)
    differing = sorted(name for name in before if name not in PATCHED
                       and ast.dump(before[name]) != ast.dump(after[name]))
    assert differing == []


@pytest.mark.parametrize("name", ["insert_pfn", "vm_insert_pfn_prot", "vm_insert_mixed"])
def test_each_function_the_patch_changes_differs_between_the_models(name):
    """The check above can fail both ways: the patched functions really differ."""
    assert ast.dump(_functions(v4_13)[name]) != ast.dump(_functions(v4_14)[name])


def test_v4_14_insert_pfn_takes_mkwrite_and_its_callers_pass_it():
    """insert_pfn(..., mkwrite); vm_insert_pfn_prot passes False; __vm_insert_mixed passes
    its own mkwrite; vm_insert_mixed False and vm_insert_mixed_mkwrite True."""
    f = _functions(v4_14)
    assert [a.arg for a in f["insert_pfn"].args.args] == ["vma", "addr", "pfn", "prot", "mkwrite"]
    assert [a.arg for a in _functions(v4_13)["insert_pfn"].args.args] == [
        "vma", "addr", "pfn", "prot"]

    def calls(fn: str, callee: str) -> list[ast.Call]:
        return [n for n in ast.walk(f[fn]) if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name) and n.func.id == callee]

    def last_arg(call: ast.Call) -> object:
        arg = call.args[-1]
        return arg.value if isinstance(arg, ast.Constant) else ast.dump(arg)

    assert [last_arg(c) for c in calls("vm_insert_pfn_prot", "insert_pfn")] == [False]
    assert [last_arg(c) for c in calls("__vm_insert_mixed", "insert_pfn")] == [
        ast.dump(ast.Name("mkwrite", ast.Load()))]
    assert [last_arg(c) for c in calls("vm_insert_mixed", "__vm_insert_mixed")] == [False]
    assert [last_arg(c) for c in calls("vm_insert_mixed_mkwrite", "__vm_insert_mixed")] == [True]


def test_v4_13_vm_insert_mixed_and_v4_14_vm_insert_mixed_differ_only_by_the_mkwrite_plumbing():
    """__vm_insert_mixed is v4.13's vm_insert_mixed with `mkwrite` added to the signature and
    passed to insert_pfn (docstrings aside)."""
    old = _functions(v4_13)["vm_insert_mixed"]
    new = _functions(v4_14)["__vm_insert_mixed"]
    assert [a.arg for a in new.args.args] == [a.arg for a in old.args.args] + ["mkwrite"]
    old_body = [ast.dump(s) for s in old.body[1:]]  # without the docstring
    new_body = [ast.dump(s) for s in new.body[1:]]
    assert len(old_body) == len(new_body)
    changed = [i for i, (a, b) in enumerate(zip(old_body, new_body)) if a != b]
    assert len(changed) == 1 and "insert_pfn" in new_body[changed[0]]


def test_nothing_but_the_docstring_and_version_differs_at_module_level():
    """Imports, constants and aliases (get_locked_pte = __get_locked_pte) are the same."""
    assert _module_level(v4_13) == _module_level(v4_14)


def test_the_module_docstrings_and_versions_name_their_kernel():
    """VERSION and the module docstring are the only module-level differences allowed."""
    assert (v4_13.VERSION, v4_14.VERSION) == ("v4.13", "v4.14")
    assert "v4.13" in v4_13.__doc__ and "v4.14" in v4_14.__doc__


# --- the fixes: each adjacent pair after the seed differs by one fix, in insert_pfn() only ---

F2C = v4_14_f2c57d91b0d9
CAE = v4_14_f2c57d91b0d9_cae85cb8add3
CHAIN = (v4_13, v4_14, F2C, CAE)
FIXES = ((v4_14, F2C, "f2c57d91b0d9"), (F2C, CAE, "cae85cb8add3"))
FIX_IDS = [commit for _, _, commit in FIXES]

FIX_DIFFS = {
    # "mm: Fix warning in insert_pfn()": the mismatch test loses its WARN_ON_ONCE, which
    # moves inside as WARN_ON_ONCE(!is_zero_pfn(pte_pfn(*pte))); the comment gains a sentence.
    "f2c57d91b0d9": (
        ["# match.",
         'if k.WARN_ON_ONCE(pte_pfn(pte[0]) != pfn_t_to_pfn(pfn), "insert_pfn",',
         '"pte_pfn(*pte) != pfn_t_to_pfn(pfn)"):'],
        ["# match. If they don't match, we are likely racing with block allocation and",
         "# mapping invalidation so just skip the update.",
         "if pte_pfn(pte[0]) != pfn_t_to_pfn(pfn):",
         'if not k.WARN_ON_ONCE(not is_zero_pfn(k, pte_pfn(pte[0])), "insert_pfn",',
         '"!is_zero_pfn(pte_pfn(*pte))"):',
         'k.branch("insert_pfn:present:mkwrite:pfn_mismatch:zero_pfn")']),
    # "mm/memory.c: fix modifying of page protection by insert_pfn()": `entry = *pte; goto
    # out_mkwrite` becomes the upgrade stored with ptep_set_access_flags() (update_mmu_cache()
    # only on a change), the present case always goes to out_unlock, out_mkwrite goes.
    "cae85cb8add3": (
        ["entry = pte[0]",
         "# goto out_mkwrite",
         "return retval",
         "# out_mkwrite:"],
        ["entry = pte_mkyoung(pte[0])",
         "entry = maybe_mkwrite(pte_mkdirty(entry), vma)",
         "if ptep_set_access_flags(vma, addr, pte, entry, 1):",
         'k.branch("insert_pfn:present:mkwrite:reuse:changed")',
         "update_mmu_cache(vma, addr, pte)",
         "else:",
         'k.branch("insert_pfn:present:mkwrite:reuse:unchanged")',
         "return retval"]),
}


def _code_lines(model: ModuleType, name: str) -> list[str]:
    """The source lines of one function without its docstring (comments kept)."""
    source = inspect.getsource(model).splitlines()
    fn = _functions(model)[name]
    doc = fn.body[0]
    skip = set(range(doc.lineno, doc.end_lineno + 1)) if _is_docstring(doc) else set()
    return [source[n - 1] for n in range(fn.lineno, fn.end_lineno + 1) if n not in skip]


@pytest.mark.parametrize("before,after,commit", FIXES, ids=FIX_IDS)
def test_each_fix_keeps_every_function_in_the_same_order(before, after, commit):
    """A fix adds and removes no function: the same names in the same order."""
    assert _order(after) == _order(before)


@pytest.mark.parametrize("before,after,commit", FIXES, ids=FIX_IDS)
def test_each_fix_changes_insert_pfn_and_nothing_else(before, after, commit):
    """Same ast for every function but insert_pfn, which differs."""
    old, new = _functions(before), _functions(after)
    differing = sorted(name for name in old if ast.dump(old[name]) != ast.dump(new[name]))
    assert differing == ["insert_pfn"]


@pytest.mark.parametrize("before,after,commit", FIXES, ids=FIX_IDS)
def test_each_fix_removes_and_adds_exactly_the_lines_of_the_fix_commit(before, after, commit):
    """The line diff of insert_pfn (docstring aside) is the fix's: FIX_DIFFS."""
    diff = difflib.ndiff(_code_lines(before, "insert_pfn"), _code_lines(after, "insert_pfn"))
    removed, added = [], []
    for line in diff:
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
    assert (removed, added) == FIX_DIFFS[commit]


@pytest.mark.parametrize("before,after,commit", FIXES, ids=FIX_IDS)
def test_each_fix_leaves_the_module_level_as_it_was(before, after, commit):
    """Imports, constants and aliases are the same on both sides of a fix."""
    assert _module_level(before) == _module_level(after)


def test_the_versions_of_the_chain_name_the_commits_applied_on_v4_14():
    """VERSION is the predecessor's plus `+<commit>`, and the docstring names the commit."""
    assert [m.VERSION for m in CHAIN] == [
        "v4.13", "v4.14", "v4.14+f2c57d91b0d9", "v4.14+f2c57d91b0d9+cae85cb8add3"]
    for before, after, commit in FIXES:
        assert after.VERSION == f"{before.VERSION}+{commit}"
        assert commit in after.__doc__


# --- the v5.0 era: the insert_pfn_pmd chain -------------------------------------------------
# v5.0 → v5.0 + the v1 posting → v5.0 + c6f3c5ee40c1 → + fce86ff5802b. Each sibling holds
# what its change touches: the v1 posting changes insert_pfn_pmd() and insert_pfn_pud(),
# c6f3c5ee40c1 (v2) then insert_pfn_pmd() only (the table it frees); fce86ff5802b changes vmf_insert_pfn_pmd(), vmf_insert_pfn_pud() and
# the four callers that pass them `vmf`.
from fuzzplug.kernel import (  # noqa: E402
    v5_0,
    v5_0_c6f3c5ee40c1,
    v5_0_c6f3c5ee40c1_fce86ff5802b,
    v5_0_c6f3c5ee40c1_v1,
)

V5_TOUCHED = {
    "v1": ("insert_pfn_pmd", "insert_pfn_pud"),
    "c6f3c5ee40c1": ("insert_pfn_pmd",),  # the leak fix: insert_pfn_pud has no table
    "fce86ff5802b": ("vmf_insert_pfn_pmd", "vmf_insert_pfn_pud", "__dev_dax_pmd_fault",
                     "__dev_dax_pud_fault", "dax_iomap_pmd_fault", "dax_insert_pfn_mkwrite"),
}
V5_PAIRS = [(v5_0, v5_0_c6f3c5ee40c1_v1, "v1"),
            (v5_0_c6f3c5ee40c1_v1, v5_0_c6f3c5ee40c1, "c6f3c5ee40c1"),
            (v5_0_c6f3c5ee40c1, v5_0_c6f3c5ee40c1_fce86ff5802b, "fce86ff5802b")]


def _without_docstring(fn: ast.FunctionDef) -> list[str]:
    body = fn.body[1:] if fn.body and _is_docstring(fn.body[0]) else fn.body
    return [ast.dump(s) for s in body] + [ast.dump(fn.args)]


@pytest.mark.parametrize("before,after,change", V5_PAIRS)
def test_each_v5_0_sibling_keeps_the_functions_in_the_same_order(before, after, change):
    """The same functions, in the same order, in both modules of each v5.0-era pair."""
    assert _order(before) == _order(after)


@pytest.mark.parametrize("before,after,change", V5_PAIRS)
def test_each_v5_0_sibling_changes_only_the_functions_its_change_touches(before, after, change):
    """Every function outside the change's set is identical (docstrings aside); every one
    inside it differs."""
    a, b = _functions(before), _functions(after)
    differing = sorted(name for name in a
                       if _without_docstring(a[name]) != _without_docstring(b[name]))
    assert differing == sorted(V5_TOUCHED[change])


@pytest.mark.parametrize("before,after,change", V5_PAIRS)
def test_each_v5_0_sibling_differs_at_module_level_only_by_imports(before, after, change):
    """Besides functions, the docstring and VERSION, only the imports may change."""
    def rest(model):
        return [s for s in _module_level(model) if not s.startswith("ImportFrom")]

    assert rest(before) == rest(after)


def test_the_v2_posting_adds_exactly_the_pgtable_leak_fix_to_the_v1_posting():
    """c6f3c5ee40c1 over v1, in insert_pfn_pmd(): `pgtable = None` after the deposit and
    `pte_free(mm, pgtable)` wherever the function leaves through out_unlock."""
    old = inspect.getsource(v5_0_c6f3c5ee40c1_v1.insert_pfn_pmd).splitlines()
    new = inspect.getsource(v5_0_c6f3c5ee40c1.insert_pfn_pmd).splitlines()
    added = [line[2:].strip() for line in difflib.ndiff(old, new) if line.startswith("+ ")]
    removed = [line for line in difflib.ndiff(old, new) if line.startswith("- ")]
    assert removed == []
    assert added.count("pte_free(mm, pgtable)") == 3
    assert added.count("pgtable = None") == 1
    assert set(added) <= {"pte_free(mm, pgtable)", "pgtable = None", "if pgtable is not None:",
                          "# out_unlock:", ""}


def test_fce86ff5802b_makes_vmf_insert_pfn_pmd_take_the_vm_fault_and_mask_the_address():
    """vmf_insert_pfn_pmd(vmf, pfn, write) computes `addr = vmf.address & PMD_MASK`; the
    earlier siblings take (vma, addr, pmd, pfn, write)."""
    new = _functions(v5_0_c6f3c5ee40c1_fce86ff5802b)["vmf_insert_pfn_pmd"]
    old = _functions(v5_0_c6f3c5ee40c1)["vmf_insert_pfn_pmd"]
    assert [a.arg for a in new.args.args] == ["vmf", "pfn", "write"]
    assert [a.arg for a in old.args.args] == ["vma", "addr", "pmd", "pfn", "write"]
    assert "addr = vmf.address & PMD_MASK" in inspect.getsource(
        v5_0_c6f3c5ee40c1_fce86ff5802b.vmf_insert_pfn_pmd)
