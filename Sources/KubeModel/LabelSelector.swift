/// meta/v1 LabelSelector: `matchLabels` and `matchExpressions`, ANDed.
///
/// An empty selector (`{}`) matches every set of labels. Whether a *missing* selector means "everything" or
/// "nothing" depends on where it is used (NetworkPolicy, Service, …) and is the caller's decision.
public struct LabelSelector: FieldCodable, CustomStringConvertible {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?
    public var unknown = UnknownFields()

    public init() {}

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public static let fields: [CodingField<Self>] = [
        .optional("matchLabels", \.matchLabels), .optional("matchExpressions", \.matchExpressions),
    ]

    /// No labels and no expressions: matches everything.
    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }

    /// Whether `labels` satisfy every `matchLabels` entry and every expression. An expression with an operator
    /// Weft does not know matches nothing (kube-apiserver rejects such selectors).
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels ?? [:] where labels[key] != value { return false }
        for requirement in matchExpressions ?? [] where !requirement.matches(labels) { return false }
        return true
    }

    /// The string form (`app=web,tier in (a,b),!canary`), requirements sorted by key as kubectl prints them.
    /// An empty selector prints as the empty string.
    public var description: String {
        var terms: [(key: String, text: String)] = []
        for (key, value) in matchLabels ?? [:] { terms.append((key, "\(key)=\(value)")) }
        for requirement in matchExpressions ?? [] { terms.append((requirement.key, requirement.description)) }
        // Stable order: by key, then text, so equal selectors print equally.
        return terms.sorted { ($0.key, $0.text) < ($1.key, $1.text) }.map(\.text).joined(separator: ",")
    }

    /// Problems with keys, operators and values, as kube-apiserver reports them, with field paths under `path`
    /// (e.g. `spec.selector`). Empty means valid.
    public func validationErrors(path: String) -> [FieldValidationError] {
        var errors: [FieldValidationError] = []
        for (key, value) in (matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            for message in LabelValidation.isQualifiedName(key) {
                errors.append(.init(field: "\(path).matchLabels", value: key, message: message))
            }
            for message in LabelValidation.isValidLabelValue(value) {
                errors.append(.init(field: "\(path).matchLabels", value: value, message: message))
            }
        }
        for (i, requirement) in (matchExpressions ?? []).enumerated() {
            let at = "\(path).matchExpressions[\(i)]"
            for message in LabelValidation.isQualifiedName(requirement.key) {
                errors.append(.init(field: "\(at).key", value: requirement.key, message: message))
            }
            let values = requirement.values ?? []
            switch requirement.operator {
            case .in, .notIn:
                if values.isEmpty {
                    errors.append(
                        .init(
                            field: "\(at).values", value: nil,
                            message: "must be specified when `operator` is 'In' or 'NotIn'", reason: "Required"))
                }
            case .exists, .doesNotExist:
                if !values.isEmpty {
                    errors.append(
                        .init(
                            field: "\(at).values", value: nil,
                            message: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                            reason: "Forbidden"))
                }
            default:
                errors.append(
                    .init(
                        field: "\(at).operator", value: requirement.operator.rawValue,
                        message: "not a valid selector operator", reason: "NotSupported"))
            }
            for (j, value) in values.enumerated() {
                for message in LabelValidation.isValidLabelValue(value) {
                    errors.append(.init(field: "\(at).values[\(j)]", value: value, message: message))
                }
            }
        }
        return errors
    }
}

/// One `matchExpressions` entry: `key`, `operator` and `values`.
public struct LabelSelectorRequirement: FieldCodable, CustomStringConvertible {
    public var key: String = ""
    public var `operator`: LabelSelectorOperator = .exists
    /// Required for `In`/`NotIn`, absent for `Exists`/`DoesNotExist`.
    public var values: [String]?
    public var unknown = UnknownFields()

    public init() {}

    public init(key: String, operator: LabelSelectorOperator, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    public static let fields: [CodingField<Self>] = [
        .value("key", \.key), .value("operator", \.operator), .optional("values", \.values),
    ]

    /// Kubernetes semantics: `NotIn` and `DoesNotExist` match when the key is missing.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch self.operator {
        case .in: return value.map { (values ?? []).contains($0) } ?? false
        case .notIn: return value.map { !(values ?? []).contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        default: return false
        }
    }

    /// `key in (a,b)`, `key notin (a)`, `key`, `!key`; values sorted.
    public var description: String {
        let list = Set(values ?? []).sorted().joined(separator: ",")
        switch self.operator {
        case .in: return "\(key) in (\(list))"
        case .notIn: return "\(key) notin (\(list))"
        case .exists: return key
        case .doesNotExist: return "!\(key)"
        default: return "\(key) \(self.operator.rawValue) (\(list))"
        }
    }
}

/// `In`, `NotIn`, `Exists` or `DoesNotExist`. Open, so that an object with another value still decodes (and then
/// fails validation rather than decoding).
public struct LabelSelectorOperator: RawRepresentable, Codable, Sendable, Hashable, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public static let `in` = LabelSelectorOperator(rawValue: "In")
    public static let notIn = LabelSelectorOperator(rawValue: "NotIn")
    public static let exists = LabelSelectorOperator(rawValue: "Exists")
    public static let doesNotExist = LabelSelectorOperator(rawValue: "DoesNotExist")

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// One problem found by validation, shaped for a 422 Status cause (`field`, and a message that kubectl prints as
/// `field: Invalid value: "value": message`).
public struct FieldValidationError: Sendable, Hashable, Error, CustomStringConvertible {
    /// The field path, e.g. `spec.selector.matchLabels`.
    public var field: String
    /// The offending value, if there is one to show.
    public var value: String?
    public var message: String
    /// kube-apiserver's cause type: `Invalid`, `Required`, `Forbidden`, `NotSupported`, …
    public var reason: String

    public init(field: String, value: String?, message: String, reason: String = "Invalid") {
        self.field = field
        self.value = value
        self.message = message
        self.reason = reason
    }

    /// `spec.selector.matchLabels: Invalid value: "a b": …`, or `field: Required value: …`.
    public var description: String {
        switch reason {
        case "Invalid": "\(field): Invalid value: \"\(value ?? "")\": \(message)"
        case "Required": "\(field): Required value: \(message)"
        case "NotSupported": "\(field): Unsupported value: \"\(value ?? "")\""
        default: "\(field): \(reason): \(message)"
        }
    }
}
