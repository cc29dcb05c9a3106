import CJansson

#if canImport(Glibc)
    import Glibc
#endif

/// Parsing and serialization through libjansson: the only place in Saddle that touches `json_t`.
extension JSON {
    /// The default bound on nesting depth for ``parse(_:maxDepth:)``.
    public static let defaultMaxDepth = 128

    /// Parses one JSON text of any kind (`42` is a valid text, so that a client sending it gets
    /// "invalid request", not "parse error"). Duplicate object keys and invalid UTF-8 are rejected;
    /// `\u0000` in strings is allowed. Nesting deeper than `maxDepth` is rejected.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONError)
        -> JSON
    {
        _ = ParseArena.allocatorInstalled
        // Large texts (a run/ingest call) parse into a per-thread arena: the tree is dropped whole.
        if bytes.count >= ParseArena.minimumInput {
            return try ParseArena.withArena { () throws(JSONError) -> JSON in
                try parseTree(bytes, maxDepth: maxDepth) { root throws(JSONError) in
                    try convert(root, depth: 1, maxDepth: maxDepth)
                }
            }
        }
        return try parseTree(bytes, maxDepth: maxDepth) { root throws(JSONError) in
            defer { saddle_json_decref(root) }
            return try convert(root, depth: 1, maxDepth: maxDepth)
        }
    }

    /// Parses with jansson and hands the tree to `body`, which owns it.
    private static func parseTree(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int,
        _ body: (UnsafeMutablePointer<json_t>) throws(JSONError) -> JSON
    ) throws(JSONError) -> JSON {
        var error = json_error_t()
        let flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL
        var empty: CChar = 0
        let loaded: UnsafeMutablePointer<json_t>?
        if let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) {
            loaded = json_loadb(base, bytes.count, Int(flags), &error)
        } else {
            loaded = json_loadb(&empty, 0, Int(flags), &error)
        }
        guard let root = loaded else {
            let text = withUnsafeBytes(of: &error.text) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            throw .syntax(
                message: text, line: Int(error.line), column: Int(error.column),
                position: Int(error.position))
        }
        return try body(root)
    }

    /// Parses JSON from a byte array.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSON {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) -> JSON in try parse(raw, maxDepth: maxDepth) }
        }.get()
    }

    /// Parses JSON from a string.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSON {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private static func convert(_ value: UnsafeMutablePointer<json_t>, depth: Int, maxDepth: Int) throws(JSONError)
        -> JSON
    {
        switch saddle_json_typeof(value) {
        case Int32(JSON_OBJECT.rawValue):
            guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth) }
            var members: [String: JSON] = [:]
            members.reserveCapacity(json_object_size(value))
            var iterator = json_object_iter(value)
            while let it = iterator {
                let keyPointer = json_object_iter_key(it)!
                let keyLength = json_object_iter_key_len(it)
                let key = String(decoding: UnsafeRawBufferPointer(start: keyPointer, count: keyLength), as: UTF8.self)
                if let child = json_object_iter_value(it) {
                    members[key] = try convert(child, depth: depth + 1, maxDepth: maxDepth)
                }
                iterator = json_object_iter_next(value, it)
            }
            return .object(members)
        case Int32(JSON_ARRAY.rawValue):
            guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth) }
            let count = json_array_size(value)
            var elements: [JSON] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                if let child = json_array_get(value, index) {
                    elements.append(try convert(child, depth: depth + 1, maxDepth: maxDepth))
                }
            }
            return .array(elements)
        case Int32(JSON_STRING.rawValue):
            let length = json_string_length(value)
            guard let pointer = json_string_value(value) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self))
        case Int32(JSON_INTEGER.rawValue):
            return .int(Int64(json_integer_value(value)))
        case Int32(JSON_REAL.rawValue):
            return .double(json_real_value(value))
        case Int32(JSON_TRUE.rawValue):
            return .bool(true)
        case Int32(JSON_FALSE.rawValue):
            return .bool(false)
        default:
            return .null
        }
    }

    /// Serializes compactly with keys sorted (so output is deterministic) and reals written with
    /// 17 significant digits (so every `Double` round-trips exactly).
    /// - Throws: ``JSONError/nonFinite(path:)`` for a NaN or infinity (JSON has no token for them),
    ///   ``JSONError/tooDeep(limit:)`` past `maxDepth`.
    public func serialized(maxDepth: Int = JSON.defaultMaxDepth) throws(JSONError) -> [UInt8] {
        _ = ParseArena.allocatorInstalled
        let root = try JSON.build(self, path: "$", depth: 1, maxDepth: maxDepth)
        defer { saddle_json_decref(root) }
        let flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY
        let size = Int(flags) | Int(saddle_json_real_precision(17))
        guard let text = json_dumps(root, size) else { throw .encoding("json_dumps returned NULL") }
        defer { free(text) }
        let length = strlen(text)
        return Array(UnsafeRawBufferPointer(start: text, count: length))
    }

    /// Serializes to a `String`; see ``serialized(maxDepth:)``.
    public func serializedString(maxDepth: Int = JSON.defaultMaxDepth) throws(JSONError) -> String {
        String(decoding: try serialized(maxDepth: maxDepth), as: UTF8.self)
    }

    private static func build(_ value: JSON, path: @autoclosure () -> String, depth: Int, maxDepth: Int)
        throws(JSONError) -> UnsafeMutablePointer<json_t>
    {
        let made: UnsafeMutablePointer<json_t>?
        switch value {
        case .null: made = json_null()
        case .bool(let b): made = b ? json_true() : json_false()
        case .int(let i): made = json_integer(json_int_t(i))
        case .double(let d):
            guard d.isFinite else { throw .nonFinite(path: path()) }
            made = json_real(d)
        case .string(let s):
            made = withCBytes(s) { json_stringn_nocheck($0, $1) }
        case .array(let elements):
            guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth) }
            guard let array = json_array() else { throw .encoding("out of memory") }
            for (index, element) in elements.enumerated() {
                let child: UnsafeMutablePointer<json_t>
                do {
                    child = try build(element, path: "\(path())[\(index)]", depth: depth + 1, maxDepth: maxDepth)
                } catch {
                    saddle_json_decref(array)
                    throw error
                }
                json_array_append_new(array, child)
            }
            made = array
        case .object(let members):
            guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth) }
            guard let object = json_object() else { throw .encoding("out of memory") }
            for (key, member) in members {
                let child: UnsafeMutablePointer<json_t>
                do {
                    child = try build(member, path: "\(path()).\(key)", depth: depth + 1, maxDepth: maxDepth)
                } catch {
                    saddle_json_decref(object)
                    throw error
                }
                _ = withCBytes(key) { json_object_setn_new_nocheck(object, $0, $1, child) }
            }
            made = object
        }
        guard let result = made else { throw .encoding("out of memory") }
        return result
    }
}

/// Calls `body` with a pointer to the UTF-8 bytes of `string` (never NULL, even when empty) and their count.
private func withCBytes<R>(_ string: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
    var string = string
    return string.withUTF8 { utf8 in
        if let base = utf8.baseAddress, utf8.count > 0 {
            return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) { body($0, utf8.count) }
        }
        var zero: CChar = 0
        return body(&zero, 0)
    }
}
