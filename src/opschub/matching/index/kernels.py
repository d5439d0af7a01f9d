"""Numba kernels of the Hamming index: linear scan, multi-index hashing search, table build.

Codes are ``uint64`` arrays ``(n, 4)`` (the 32 code bytes viewed little-endian). Kernels write
hits into caller-provided output arrays up to their capacity and return the total number of
hits; the caller re-runs with larger arrays when the total exceeded the capacity.
"""

from __future__ import annotations

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
def extract(c0, c1, c2, c3, start, length):
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
def linear_scan(queries, codes, dead, threshold, out_q, out_row, out_d, count):
    """All (query, row) with distance <= threshold by scanning every code.

    Codes are scanned in blocks that stay in cache while every query passes over them.
    """
    cap = out_q.shape[0]
    has_dead = dead.shape[0] > 0
    n = codes.shape[0]
    block = 2048
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        for qi in range(queries.shape[0]):
            q0 = queries[qi, 0]
            q1 = queries[qi, 1]
            q2 = queries[qi, 2]
            q3 = queries[qi, 3]
            for row in range(b0, b1):
                d = (
                    popcount64(q0 ^ codes[row, 0])
                    + popcount64(q1 ^ codes[row, 1])
                    + popcount64(q2 ^ codes[row, 2])
                    + popcount64(q3 ^ codes[row, 3])
                )
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
def table_offsets(codes, start, length, offsets):
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
def table_records(codes, start, length, word_a, word_b, offsets, records):
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
    queries,
    codes,
    dead,
    starts,
    lengths,
    radii,
    word_a,
    word_b,
    table_base,
    offsets,
    records,
    masks,
    mask_start,
    mask_count,
    threshold,
    out_q,
    out_row,
    out_d,
    count,
):
    """Exact range search by multi-index hashing over one segment.

    Table j is probed at every bucket within ``radii[j]`` bits of the query's substring j
    (``mask_count[j]`` masks from ``masks[mask_start[j]:]``, -1 radius means not probed); the
    radii make the pigeonhole argument cover every code within ``threshold``. A candidate is
    filtered on its 96 streamed bits before its full code is read; a true hit is reported only
    by the first table that can find it, so no de-duplication set is needed.
    """
    cap = out_q.shape[0]
    has_dead = dead.shape[0] > 0
    n = codes.shape[0]
    m = starts.shape[0]
    qsub = np.empty(m, dtype=np.uint64)
    lo_buf = np.empty(1 << 12, dtype=np.int64)
    hi_buf = np.empty(1 << 12, dtype=np.int64)
    wt_buf = np.empty(1 << 12, dtype=np.int64)
    for qi in range(queries.shape[0]):
        q0 = queries[qi, 0]
        q1 = queries[qi, 1]
        q2 = queries[qi, 2]
        q3 = queries[qi, 3]
        for j in range(m):
            qsub[j] = extract(q0, q1, q2, q3, starts[j], lengths[j])
        for j in range(m):
            if radii[j] < 0:
                continue
            qa = queries[qi, word_a[j]]
            qb = queries[qi, word_b[j]] & _LOW32
            base = table_base[j]
            rbase = j * n
            qv = qsub[j]
            m0 = mask_start[j]
            m1 = m0 + mask_count[j]
            # Stage probes in chunks: first prefetch the bucket offsets of a chunk, then read them
            # and prefetch the buckets' records, then scan the records.
            for c0 in range(m0, m1, 1 << 12):
                c1 = min(m1, c0 + (1 << 12))
                for mi in range(c0, c1):
                    prefetch(offsets, base + np.int64(qv ^ masks[mi]))
                nb = 0
                for mi in range(c0, c1):
                    v = base + np.int64(qv ^ masks[mi])
                    lo = np.int64(offsets[v])
                    hi = np.int64(offsets[v + 1])
                    if hi > lo:
                        prefetch(records, rbase + lo)
                        lo_buf[nb] = rbase + lo
                        hi_buf[nb] = rbase + hi
                        wt_buf[nb] = threshold - popcount64(masks[mi])
                        nb += 1
                for bi in range(nb):
                    limit = wt_buf[bi]
                    for k in range(lo_buf[bi], hi_buf[bi]):
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
