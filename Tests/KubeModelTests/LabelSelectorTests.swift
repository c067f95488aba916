import KubeModel
import Testing
import WeftNet

@Suite struct LabelSelectorTests {
    @Test(arguments: [
        ("", LabelSelector()),
        ("   ", LabelSelector()),
        ("app=web", LabelSelector(matchLabels: ["app": "web"])),
        ("app==web", LabelSelector(matchLabels: ["app": "web"])),
        (" app = web , tier == db ", LabelSelector(matchLabels: ["app": "web", "tier": "db"])),
        ("app=", LabelSelector(matchLabels: ["app": ""])),
        ("app!=web", LabelSelector(matchExpressions: [.init(key: "app", operator: .notIn, values: ["web"])])),
        (
            "env in (prod, staging),tier notin(cache)",
            LabelSelector(matchExpressions: [
                .init(key: "env", operator: .in, values: ["prod", "staging"]),
                .init(key: "tier", operator: .notIn, values: ["cache"]),
            ])
        ),
        ("canary", LabelSelector(matchExpressions: [.init(key: "canary", operator: .exists)])),
        ("!canary", LabelSelector(matchExpressions: [.init(key: "canary", operator: .doesNotExist)])),
        ("! canary", LabelSelector(matchExpressions: [.init(key: "canary", operator: .doesNotExist)])),
        (
            "example.com/team=a,a=b,a=c",
            LabelSelector(
                matchLabels: ["example.com/team": "a", "a": "b"],
                matchExpressions: [.init(key: "a", operator: .in, values: ["c"])])
        ),
        ("x in (a,,b)", LabelSelector(matchExpressions: [.init(key: "x", operator: .in, values: ["a", "", "b"])])),
        ("x in (a,a)", LabelSelector(matchExpressions: [.init(key: "x", operator: .in, values: ["a"])])),
        ("x=in", LabelSelector(matchLabels: ["x": "in"])),
    ])
    func parsesValidForms(text: String, expected: LabelSelector) throws {
        #expect(try LabelSelector(parsing: text) == expected)
    }

    @Test(arguments: [
        ("app=web extra", 8, "expected ',' or end of input, found 'extra'"),
        ("app=web,", 8, "expected a label key, found end of input"),
        (",app", 0, "expected a label key, found ','"),
        ("app in prod", 7, "expected '(' after 'in', found 'prod'"),
        ("app in (a", 9, "missing ')' to close the value list"),
        ("app notin ()", 10, "the values of 'notin' must not be empty"),
        ("app in (a b)", 10, "expected a value, ',' or ')' in the value list, found 'b'"),
        ("app>3", 3, "operator '>' is not supported by label selectors (only =, ==, !=, in, notin, exists)"),
        ("app web", 4, "expected an operator (=, ==, !=, in, notin), ',' or end of input after key 'app', found 'web'"),
        ("a=(b)", 2, "expected a value after '=', found '('"),
        ("!a=b", 2, "expected ',' or end of input, found '='"),
        ("in=b", 0, "expected a label key, found 'in'"),
    ])
    func rejectsInvalidForms(text: String, position: Int, problem: String) {
        #expect(throws: SelectorParseError(input: text, position: position, problem: problem)) {
            try LabelSelector(parsing: text)
        }
    }

    @Test func invalidKeysAndValuesNameTheProblem() throws {
        do {
            _ = try LabelSelector(parsing: "a=b, -bad=x")
            Issue.record("parsed an invalid key")
        } catch {
            #expect(error.position == 5)
            #expect(error.problem.hasPrefix("invalid label key \"-bad\": name part must consist of alphanumeric"))
            #expect(error.description.hasPrefix("invalid selector \"a=b, -bad=x\": invalid label key"))
            #expect(error.description.hasSuffix("at position 5"))
        }
        do {
            _ = try LabelSelector(parsing: "a in (ok, not/ok)")
            Issue.record("parsed an invalid value")
        } catch {
            #expect(error.position == 10)
            #expect(error.problem.hasPrefix("invalid label value \"not/ok\": a valid label must be an empty string"))
        }
        let long = String(repeating: "v", count: 64)
        #expect(throws: SelectorParseError.self) { try LabelSelector(parsing: "a=\(long)") }
        #expect(throws: SelectorParseError.self) { try LabelSelector(parsing: "a/b/c=d") }
    }

    @Test(
        arguments: [
            // selector, labels, matches
            ("", [:], true),
            ("", ["a": "b"], true),
            ("app=web", ["app": "web", "x": "y"], true),
            ("app=web", ["app": "db"], false),
            ("app=web", [:], false),
            ("app!=web", ["app": "db"], true),
            ("app!=web", [:], true),
            ("app!=web", ["app": "web"], false),
            ("env in (prod,staging)", ["env": "staging"], true),
            ("env in (prod,staging)", ["env": "dev"], false),
            ("env in (prod,staging)", [:], false),
            ("env notin (prod)", ["env": "dev"], true),
            ("env notin (prod)", [:], true),
            ("env notin (prod)", ["env": "prod"], false),
            ("canary", ["canary": ""], true),
            ("canary", ["other": "x"], false),
            ("!canary", ["other": "x"], true),
            ("!canary", ["canary": "true"], false),
            ("app=web,!canary,env in (prod)", ["app": "web", "env": "prod"], true),
            ("app=web,!canary,env in (prod)", ["app": "web", "env": "prod", "canary": "1"], false),
            ("a=", ["a": ""], true),
            ("a=", [:], false),
        ] as [(String, [String: String], Bool)])
    func matchesWithKubernetesSemantics(selector: String, labels: [String: String], expected: Bool) throws {
        #expect(try LabelSelector(parsing: selector).matches(labels) == expected)
    }

    @Test func unknownOperatorMatchesNothing() {
        let selector = LabelSelector(matchExpressions: [.init(key: "a", operator: "Gt", values: ["1"])])
        #expect(!selector.matches(["a": "2"]))
        #expect(!selector.matches([:]))
    }

    @Test func descriptionIsTheStringForm() throws {
        let selector = try LabelSelector(parsing: "tier notin (b,a), app = web, !canary, zone, env in (prod)")
        #expect(selector.description == "app=web,!canary,env in (prod),tier notin (a,b),zone")
        #expect(try LabelSelector(parsing: selector.description).description == selector.description)
        #expect(LabelSelector().description == "")
        #expect(
            LabelSelector(matchExpressions: [.init(key: "a", operator: .notIn, values: ["x"])]).description
                == "a notin (x)")
    }

    @Test func decodesAndValidatesTheStructuredForm() throws {
        let json = try JSONValue(
            json:
                #"{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"env","operator":"In","values":["a"]}],"x":1}"#
        )
        let selector = try json.decoded(as: LabelSelector.self)
        #expect(selector.matchLabels == ["app": "web"] && selector.matchExpressions?[0].operator == .in)
        #expect(selector.unknown.values == ["x": .number(1)])
        #expect(try JSONValue(encoding: selector) == json)
        #expect(selector.validationErrors(path: "spec.selector").isEmpty)

        let bad = LabelSelector(
            matchLabels: ["bad key": "v"],
            matchExpressions: [
                .init(key: "a", operator: .in, values: []), .init(key: "b", operator: .exists, values: ["x"]),
                .init(key: "c", operator: "Gt", values: ["1"]),
            ])
        let errors = bad.validationErrors(path: "spec.selector")
        #expect(
            errors.map(\.field) == [
                "spec.selector.matchLabels", "spec.selector.matchExpressions[0].values",
                "spec.selector.matchExpressions[1].values", "spec.selector.matchExpressions[2].operator",
            ])
        #expect(
            errors[0].description.hasPrefix(
                "spec.selector.matchLabels: Invalid value: \"bad key\": name part must consist of alphanumeric"))
        #expect(
            errors[1].description
                == "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        )
        #expect(errors[3].reason == "NotSupported")
    }
}

@Suite struct FieldSelectorTests {
    @Test func parsesTerms() throws {
        let selector = try FieldSelector(parsing: "metadata.name=x,metadata.namespace!=kube-system, spec.nodeName==n1")
        #expect(
            selector.requirements == [
                .init(field: "metadata.name", operator: .equals, value: "x"),
                .init(field: "metadata.namespace", operator: .notEquals, value: "kube-system"),
                .init(field: "spec.nodeName", operator: .equals, value: "n1"),
            ])
        #expect(selector.fields == ["metadata.name", "metadata.namespace", "spec.nodeName"])
        #expect(selector.description == "metadata.name=x,metadata.namespace!=kube-system,spec.nodeName=n1")
        #expect(try FieldSelector(parsing: "").requirements.isEmpty)
        #expect(try FieldSelector(parsing: "spec.nodeName=").requirements[0].value == "")
    }

    @Test func escapes() throws {
        let selector = try FieldSelector(parsing: #"metadata.name=a\,b\=c,x!=y"#)
        #expect(selector.requirements.map(\.value) == ["a,b=c", "y"])
        #expect(selector.description == #"metadata.name=a\,b\=c,x!=y"#)
        #expect(try FieldSelector(parsing: selector.description) == selector)
    }

    @Test func matches() throws {
        let selector = try FieldSelector(parsing: "metadata.namespace!=kube-system,spec.nodeName=n1")
        #expect(selector.matches(["metadata.namespace": "default", "spec.nodeName": "n1"]))
        #expect(!selector.matches(["metadata.namespace": "kube-system", "spec.nodeName": "n1"]))
        #expect(!selector.matches(["metadata.namespace": "default"]))
        // An unset field compares as "": unscheduled pods are `spec.nodeName=`.
        #expect(try FieldSelector(parsing: "spec.nodeName=").matches { _ in nil })
        #expect(try FieldSelector(parsing: "").matches { _ in nil })
    }

    @Test(arguments: [
        ("metadata.name", 0, "'metadata.name' is not a 'field=value', 'field==value' or 'field!=value' term"),
        ("a=b,c", 4, "'c' is not a 'field=value', 'field==value' or 'field!=value' term"),
        ("=x", 0, "missing field name before the operator"),
        (#"a=b\q"#, 3, #"invalid escape sequence (only \\, \, \= and \! are allowed)"#),
    ])
    func rejects(text: String, position: Int, problem: String) {
        #expect(throws: SelectorParseError(input: text, position: position, problem: problem)) {
            try FieldSelector(parsing: text)
        }
    }
}
