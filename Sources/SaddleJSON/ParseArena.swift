import CJansson

#if canImport(Glibc)
    import Glibc
#endif

/// A bump allocator that jansson allocates from while ``JSON/parse(_:maxDepth:)`` builds its tree.
///
/// Why: a parsed tree is converted to a ``JSON`` value at once and then thrown away whole. jansson
/// allocates every value, key and hash table on its own (about 16 allocations per small object) and
/// frees them one by one; profiles of `run/ingest` put that malloc/free traffic at a tenth of the
/// daemon's time. In the arena an allocation is a pointer bump, and the tree is dropped by resetting
/// the arena instead of walking it.
///
/// Contract: one arena per thread, active only inside `parse` on that thread (so no other jansson
/// call sees it), and no `json_t` allocated in it outlives the parse — which holds because `json_t`
/// never leaves this module. Outside an active arena jansson uses `malloc`/`free` as before; a free of
/// memory the arena does not own (none is expected during a parse) goes to `free`.
final class ParseArena {
    /// Parses of at least this many bytes use the arena; smaller ones are not worth it.
    static let minimumInput = 2048
    /// The first chunk's size; later chunks double.
    private static let firstChunk = 64 << 10
    /// Up to this many bytes stay with the thread for its next parse (no page faults on reuse).
    private static let retainedBytes = 4 << 20

    private var chunks: [(base: UnsafeMutableRawPointer, size: Int)] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    fileprivate var active = false

    deinit {
        for chunk in chunks { free(chunk.base) }
    }

    /// 16-byte aligned (as `malloc`), or nil when `malloc` fails.
    fileprivate func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        let rounded = (max(size, 1) + 15) & ~15
        if rounded <= remaining, let cursor {
            self.cursor = cursor + rounded
            remaining -= rounded
            return cursor
        }
        let chunkSize = max(rounded, max(Self.firstChunk, 2 * (chunks.last?.size ?? 0)))
        guard let base = malloc(chunkSize) else { return nil }
        chunks.append((base, chunkSize))
        cursor = base + rounded
        remaining = chunkSize - rounded
        return base
    }

    fileprivate func owns(_ pointer: UnsafeMutableRawPointer) -> Bool {
        for chunk in chunks where pointer >= chunk.base && pointer < chunk.base + chunk.size { return true }
        return false
    }

    /// Runs `body` with jansson allocating from this thread's arena, then forgets every allocation.
    static func withArena<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        _ = allocatorInstalled
        let arena = current()
        arena.active = true
        defer {
            arena.active = false
            arena.reset()
        }
        return try body()
    }

    /// Forgets every allocation. Several chunks are merged into one of their total size (up to
    /// ``retainedBytes``), kept for the thread's next parse: a thread that parses big texts again and
    /// again then bumps through one warm chunk without mapping fresh pages.
    private func reset() {
        if chunks.count > 1 || (chunks.first?.size ?? 0) > Self.retainedBytes {
            let total = chunks.reduce(0) { $0 + $1.size }
            for chunk in chunks { free(chunk.base) }
            chunks = []
            if total <= Self.retainedBytes, let base = malloc(total) { chunks = [(base, total)] }
        }
        cursor = chunks.first?.base
        remaining = chunks.first?.size ?? 0
    }

    /// This thread's arena, created on first use and released when the thread exits.
    private static func current() -> ParseArena {
        if let raw = pthread_getspecific(arenaKey) {
            return Unmanaged<ParseArena>.fromOpaque(raw).takeUnretainedValue()
        }
        let arena = ParseArena()
        pthread_setspecific(arenaKey, Unmanaged.passRetained(arena).toOpaque())
        return arena
    }

    /// Installs jansson's allocation hooks once, before this module's first jansson call (parse and
    /// serialize both touch this first).
    static let allocatorInstalled: Bool = {
        json_set_alloc_funcs(janssonMalloc, janssonFree)
        return true
    }()
}

private let arenaKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { raw in
        guard let raw else { return }
        Unmanaged<ParseArena>.fromOpaque(raw).release()
    }
    return key
}()

/// The active arena of this thread, if any.
@inline(__always) private func activeArena() -> ParseArena? {
    guard let raw = pthread_getspecific(arenaKey) else { return nil }
    let arena = Unmanaged<ParseArena>.fromOpaque(raw).takeUnretainedValue()
    return arena.active ? arena : nil
}

private func janssonMalloc(_ size: Int) -> UnsafeMutableRawPointer? {
    if let arena = activeArena() { return arena.allocate(size) }
    return malloc(size)
}

private func janssonFree(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    if let arena = activeArena(), arena.owns(pointer) { return }
    free(pointer)
}
