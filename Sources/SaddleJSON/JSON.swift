/// A JSON value. Parsed from and serialized to bytes by libjansson only (see `JSON+Jansson.swift`);
/// everything above this module handles JSON as this `Sendable` value and never sees a `json_t`.
///
/// Integers and reals are kept apart as the parser saw them: `1` is `.int(1)`, `1.0` is `.double(1)`.
/// ``doubleValue`` reads either, so a client may send `2` where a real is expected.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

extension JSON {
    /// The member `key` of an object; `nil` for a missing member or a value that is not an object.
    public subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array; `nil` out of range or for a value that is not an array.
    public subscript(index: Int) -> JSON? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [String: JSON]? { if case .object(let o) = self { return o } else { return nil } }

    /// An integer, or a real with no fractional part that fits in `Int64`.
    public var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    /// A number of either kind, or one of the strings `"NaN"`, `"Infinity"`, `"-Infinity"` by which
    /// non-finite numbers travel (JSON has no token for them).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: return nil
        }
    }

    /// A number for the wire: finite values as numbers, non-finite ones as the strings
    /// `"NaN"`, `"Infinity"`, `"-Infinity"` (fields typed `number | string` in protocol/).
    public static func number(_ value: Double) -> JSON {
        if value.isFinite { return .double(value) }
        if value.isNaN { return .string("NaN") }
        return .string(value > 0 ? "Infinity" : "-Infinity")
    }

    /// An array of numbers for the wire, non-finite values spelled as strings.
    public static func numbers<S: Sequence>(_ values: S) -> JSON where S.Element == Double {
        .array(values.map(JSON.number))
    }

    /// A short description of the kind of value, for error messages ("an object", "the string \"x\"").
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .string(let s): return s.count > 40 ? "a string" : "the string \"\(s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSON {
    /// Convenience for building results: an integer value from `Int`.
    public static func int(_ value: Int) -> JSON { .int(Int64(value)) }
}
