"""Numba kernels of the Hamming index: linear scan, multi-index hashing search, table build.

Codes are ``uint64`` arrays ``(n, 4)`` (the 32 code bytes viewed little-endian). Kernels write
hits into caller-provided output arrays up to their capacity and return the total number of
hits; the caller re-runs with larger arrays when the total exceeded the capacity.
"""

# mypy: disable-error-code="call-arg,var-annotated"
# (numba intrinsics are called from kernels without the typing context mypy expects)

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_LOW32 = np.uint64(0xFFFFFFFF)


@intrinsic
def popcount64(typingctx, value):  # type: ignore[no-untyped-def]
    """Population count of a uint64 (one POPCNT instruction)."""
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.zext(builder.ctpop(args[0]), ir.IntType(64))

    return types.int64(value), codegen


@intrinsic
def prefetch(typingctx, array, index):  # type: ignore[no-untyped-def]
    """Hint the CPU to load ``array[index]`` into cache (no effect on results)."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        arytype = signature.args[0]
        ary = context.make_array(arytype)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arytype, ary, [args[1]], wraparound=False)
        i32 = ir.IntType(32)
        ptr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@njit(cache=True, nogil=True, inline="always")
def extract(c0: Any, c1: Any, c2: Any, c3: Any, start: int, length: int) -> Any:
    """Bits ``start .. start+length-1`` (length <= 32) of the 256-bit code c0..c3."""
    word = start >> 6
    offset = start & 63
    if word == 0:
        lo, hi = c0, c1
    elif word == 1:
        lo, hi = c1, c2
    elif word == 2:
        lo, hi = c2, c3
    else:
        lo, hi = c3, np.uint64(0)
    value = lo >> np.uint64(offset)
    if offset + length > 64:
        value |= hi << np.uint64(64 - offset)
    return value & ((np.uint64(1) << np.uint64(length)) - np.uint64(1))


@njit(cache=True, nogil=True, boundscheck=False)
def linear_scan(
    queries: np.ndarray,
    codes: np.ndarray,
    dead: np.ndarray,
    threshold: int,
    out_q: np.ndarray,
    out_row: np.ndarray,
    out_d: np.ndarray,
    count: int,
) -> int:
    """All (query, row) with distance <= threshold by scanning every code.

    Codes are scanned in blocks that stay in cache while every query passes over them; the
    distances of a block are computed in a branch-free loop (vectorised) and then filtered.
    """
    cap = out_q.shape[0]
    has_dead = dead.shape[0] > 0
    n = codes.shape[0]
    block = 2048
    dist = np.empty(block, dtype=np.int64)
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        for qi in range(queries.shape[0]):
            q0 = queries[qi, 0]
            q1 = queries[qi, 1]
            q2 = queries[qi, 2]
            q3 = queries[qi, 3]
            for row in range(b0, b1):
                dist[row - b0] = (
                    popcount64(q0 ^ codes[row, 0])
                    + popcount64(q1 ^ codes[row, 1])
                    + popcount64(q2 ^ codes[row, 2])
                    + popcount64(q3 ^ codes[row, 3])
                )
            for row in range(b0, b1):
                d = dist[row - b0]
                if d <= threshold:
                    if has_dead and dead[row]:
                        continue
                    if count < cap:
                        out_q[count] = qi
                        out_row[count] = row
                        out_d[count] = d
                    count += 1
    return count


@njit(cache=True, nogil=True, boundscheck=False)
def table_offsets(codes: np.ndarray, start: int, length: int, offsets: np.ndarray) -> None:
    """Bucket offsets (counting sort) of one substring table: ``offsets`` has 2**length + 1."""
    offsets[:] = 0
    for row in range(codes.shape[0]):
        v = extract(codes[row, 0], codes[row, 1], codes[row, 2], codes[row, 3], start, length)
        offsets[v + 1] += 1
    total = 0
    for i in range(offsets.shape[0]):
        total += offsets[i]
        offsets[i] = total


@njit(cache=True, nogil=True, boundscheck=False)
def table_records(
    codes: np.ndarray,
    start: int,
    length: int,
    word_a: int,
    word_b: int,
    offsets: np.ndarray,
    records: np.ndarray,
) -> None:
    """Bucket-ordered records of one table: ``records[k] = (code word a, code word b low 32
    bits | row << 32)``, so a probe streams 96 code bits and the row from one cache line."""
    fill = offsets[:-1].astype(np.int64)
    for row in range(codes.shape[0]):
        c0 = codes[row, 0]
        c1 = codes[row, 1]
        c2 = codes[row, 2]
        c3 = codes[row, 3]
        v = extract(c0, c1, c2, c3, start, length)
        k = fill[v]
        fill[v] = k + 1
        records[k, 0] = codes[row, word_a]
        records[k, 1] = (codes[row, word_b] & _LOW32) | (np.uint64(row) << np.uint64(32))


@njit(cache=True, nogil=True, boundscheck=False)
def mih_search(
    queries: np.ndarray,
    codes: np.ndarray,
    dead: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    radii: np.ndarray,
    word_a: np.ndarray,
    word_b: np.ndarray,
    table_base: np.ndarray,
    offsets: np.ndarray,
    records: np.ndarray,
    probe_table: np.ndarray,
    probe_mask: np.ndarray,
    threshold: int,
    out_q: np.ndarray,
    out_row: np.ndarray,
    out_d: np.ndarray,
    count: int,
) -> int:
    """Exact range search by multi-index hashing over one segment.

    Probe p looks up bucket ``substring(query, probe_table[p]) ^ probe_mask[p]``; the probes
    cover every bucket within ``radii[j]`` bits of the query's substring j, which by the
    pigeonhole argument finds every code within ``threshold``. Probes run in stages over a
    chunk: prefetch the bucket offsets, then read them and prefetch the buckets' records,
    then scan, so many cache misses are in flight at once. A candidate is filtered on its 96
    streamed bits before its full code is read; a true hit is reported only by the first
    table that can find it, so no de-duplication set is needed.
    """
    cap = out_q.shape[0]
    has_dead = dead.shape[0] > 0
    n = codes.shape[0]
    m = starts.shape[0]
    total = probe_table.shape[0]
    chunk = 1 << 11
    qsub = np.empty(m, dtype=np.uint64)
    slot = np.empty(chunk, dtype=np.int64)
    lo_buf = np.empty(chunk, dtype=np.int64)
    hi_buf = np.empty(chunk, dtype=np.int64)
    for qi in range(queries.shape[0]):
        q0 = queries[qi, 0]
        q1 = queries[qi, 1]
        q2 = queries[qi, 2]
        q3 = queries[qi, 3]
        for j in range(m):
            qsub[j] = extract(q0, q1, q2, q3, starts[j], lengths[j])
        for c0 in range(0, total, chunk):
            c1 = min(total, c0 + chunk)
            for p in range(c0, c1):
                j = probe_table[p]
                at = table_base[j] + np.int64(qsub[j] ^ probe_mask[p])
                slot[p - c0] = at
                prefetch(offsets, at)
            for p in range(c0, c1):
                at = slot[p - c0]
                lo = np.int64(offsets[at])
                hi = np.int64(offsets[at + 1])
                rbase = probe_table[p] * n
                lo_buf[p - c0] = rbase + lo
                hi_buf[p - c0] = rbase + hi
                for pk in range(rbase + lo, rbase + min(hi, lo + 64), 4):
                    prefetch(records, pk)
            for p in range(c0, c1):
                k0 = lo_buf[p - c0]
                k1 = hi_buf[p - c0]
                if k0 == k1:
                    continue
                j = probe_table[p]
                qa = queries[qi, word_a[j]]
                qb = queries[qi, word_b[j]] & _LOW32
                limit = threshold - popcount64(probe_mask[p])
                for k in range(k0, k1):
                    ra = records[k, 0]
                    rb = records[k, 1]
                    part = popcount64(ra ^ qa) + popcount64((rb & _LOW32) ^ qb)
                    if part > limit:
                        continue
                    row = np.int64(rb >> np.uint64(32))
                    c0w = codes[row, 0]
                    c1w = codes[row, 1]
                    c2w = codes[row, 2]
                    c3w = codes[row, 3]
                    d = (
                        popcount64(q0 ^ c0w)
                        + popcount64(q1 ^ c1w)
                        + popcount64(q2 ^ c2w)
                        + popcount64(q3 ^ c3w)
                    )
                    if d > threshold:
                        continue
                    seen = False
                    for jj in range(j):
                        if radii[jj] >= 0:
                            sv = extract(c0w, c1w, c2w, c3w, starts[jj], lengths[jj])
                            if popcount64(sv ^ qsub[jj]) <= radii[jj]:
                                seen = True
                                break
                    if seen or (has_dead and dead[row]):
                        continue
                    if count < cap:
                        out_q[count] = qi
                        out_row[count] = row
                        out_d[count] = d
                    count += 1
    return count
