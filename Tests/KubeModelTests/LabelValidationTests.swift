import KubeModel
import Testing

@Suite struct LabelValidationTests {
    static let qualifiedNameMessage =
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        + "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        + "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    static let subdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        + "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        + #"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#

    @Test func qualifiedNames() {
        for valid in ["app", "App_1.x-y", "example.com/team", "k8s.io/a", String(repeating: "a", count: 63)] {
            #expect(LabelValidation.isQualifiedName(valid).isEmpty, "\(valid)")
        }
        #expect(LabelValidation.isQualifiedName("-app") == ["name part " + Self.qualifiedNameMessage])
        #expect(
            LabelValidation.isQualifiedName("") == [
                "name part must be non-empty", "name part " + Self.qualifiedNameMessage,
            ])
        #expect(
            LabelValidation.isQualifiedName(String(repeating: "a", count: 64)) == [
                "name part must be no more than 63 characters"
            ])
        #expect(LabelValidation.isQualifiedName("/a") == ["prefix part must be non-empty"])
        #expect(LabelValidation.isQualifiedName("Example.com/a") == ["prefix part " + Self.subdomainMessage])
        #expect(
            LabelValidation.isQualifiedName("a/b/c") == [
                "a qualified name " + Self.qualifiedNameMessage
                    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ])
    }

    @Test func labelValues() {
        for valid in ["", "v", "my_value", "1.2.3", String(repeating: "x", count: 63)] {
            #expect(LabelValidation.isValidLabelValue(valid).isEmpty, "\(valid)")
        }
        #expect(
            LabelValidation.isValidLabelValue("a b") == [
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                    + "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                    + "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ])
        #expect(
            LabelValidation.isValidLabelValue(String(repeating: "x", count: 64)) == [
                "must be no more than 63 characters"
            ])
    }

    @Test func dnsNames() {
        #expect(LabelValidation.isDNS1123Label("my-name").isEmpty && LabelValidation.isDNS1123Label("123-abc").isEmpty)
        #expect(LabelValidation.isDNS1123Label("my.name") == ["must not contain dots"])
        #expect(
            LabelValidation.isDNS1123Label("My-Name") == [
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
                    + "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation "
                    + "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ])
        #expect(
            LabelValidation.isDNS1123Label(String(repeating: "a", count: 64)) == [
                "must be no more than 63 characters"
            ])
        #expect(LabelValidation.isDNS1123Subdomain("web.example.com").isEmpty)
        #expect(LabelValidation.isDNS1123Subdomain("Foo") == [Self.subdomainMessage])
        #expect(LabelValidation.isDNS1123Subdomain("a..b") == [Self.subdomainMessage])
        #expect(LabelValidation.isDNS1123Subdomain("") == [Self.subdomainMessage])
        let long = Array(repeating: String(repeating: "a", count: 50), count: 6).joined(separator: ".")
        #expect(LabelValidation.isDNS1123Subdomain(long) == ["must be no more than 253 characters"])
        #expect(LabelValidation.isDNS1035Label("web").isEmpty)
        #expect(
            LabelValidation.isDNS1035Label("1web") == [
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
                    + "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used "
                    + "for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ])
    }
}
