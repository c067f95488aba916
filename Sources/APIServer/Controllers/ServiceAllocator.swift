import KubeModel
import WeftNet

/// A Service's cluster IPs, IP families and node ports, as kube-apiserver's service REST storage fills them when
/// the Service is written: honours `spec.ipFamilies`, `spec.ipFamilyPolicy`, requested `spec.clusterIP(s)` and
/// `nodePort`s, keeps what an update leaves out, and drops what the new type does not use.
struct ServiceAllocator: Sendable {
    /// At most one range per family; the first one's family is the cluster's default.
    var cidrs: [IPPrefix]
    var nodePorts: ClosedRange<Int>

    private static func familyName(_ family: IPFamily) -> String { family == .v4 ? "IPv4" : "IPv6" }

    private static func family(named name: String) -> IPFamily? {
        switch name {
        case "IPv4": .v4
        case "IPv6": .v6
        default: nil
        }
    }

    /// What is taken by the other Services: cluster IPs and node ports.
    private struct Allocated {
        var addresses: Set<IPAddress> = []
        var ports: Set<Int> = []
    }

    private func allocated(_ tx: ObjectStore.Transaction, except namespace: String, _ name: String) throws -> Allocated
    {
        var result = Allocated()
        for service in try tx.list(Resources.service, namespace: nil) {
            if service.metadataString("namespace") == namespace && service.metadataString("name") == name { continue }
            let spec = service["spec"]
            for text in spec?["clusterIPs"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                if let address = IPAddress(text) { result.addresses.insert(address) }
            }
            if let text = spec?["clusterIP"]?.stringValue, let address = IPAddress(text) {
                result.addresses.insert(address)
            }
            for port in spec?["ports"]?.arrayValue ?? [] {
                if let nodePort = port["nodePort"]?.int64Value { result.ports.insert(Int(nodePort)) }
            }
            if let port = spec?["healthCheckNodePort"]?.int64Value { result.ports.insert(Int(port)) }
        }
        return result
    }

    func admit(_ tx: ObjectStore.Transaction, namespace: String, old: JSONValue?, new: JSONValue) throws -> JSONValue {
        guard case .object = new["spec"] ?? .null else { return new }
        let name = new.metadataString("name") ?? ""
        var spec = new["spec"]!
        let oldSpec = old?["spec"]
        let type = spec["type"]?.stringValue ?? "ClusterIP"
        let oldType = oldSpec?["type"]?.stringValue ?? "ClusterIP"
        func invalid(_ field: String, _ value: String, _ detail: String) -> Status {
            Status.invalid(
                Resources.service, name: name,
                causes: [
                    Status.Cause(
                        reason: "FieldValueInvalid", message: "Invalid value: \(value): \(detail)", field: field)
                ])
        }

        if type == "ExternalName" {
            for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"] {
                spec[key] = nil
            }
            spec["ports"] = spec["ports"]?.arrayValue.map { .array($0.map { Self.removing("nodePort", from: $0) }) }
            var object = new
            object["spec"] = spec
            return object
        }

        // An update keeps the allocations it does not mention (kube's patchAllocatedValues).
        if let oldSpec, oldType != "ExternalName" {
            if spec["clusterIP"] == nil && spec["clusterIPs"] == nil {
                spec["clusterIP"] = oldSpec["clusterIP"]
                spec["clusterIPs"] = oldSpec["clusterIPs"]
            }
            if spec["ipFamilies"] == nil { spec["ipFamilies"] = oldSpec["ipFamilies"] }
            if spec["ipFamilyPolicy"] == nil { spec["ipFamilyPolicy"] = oldSpec["ipFamilyPolicy"] }
            if let ports = spec["ports"]?.arrayValue, let oldPorts = oldSpec["ports"]?.arrayValue {
                spec["ports"] = .array(
                    ports.map { port in
                        guard port["nodePort"] == nil,
                            let match = oldPorts.first(where: {
                                $0["port"] == port["port"] && $0["protocol"] == port["protocol"]
                            }),
                            let nodePort = match["nodePort"]
                        else { return port }
                        var port = port
                        port["nodePort"] = nodePort
                        return port
                    })
            }
            if spec["healthCheckNodePort"] == nil { spec["healthCheckNodePort"] = oldSpec["healthCheckNodePort"] }
        }

        // Traffic policy defaults, as kube sets them.
        if spec["internalTrafficPolicy"] == nil { spec["internalTrafficPolicy"] = .string("Cluster") }
        let usesNodePorts =
            type == "NodePort" || (type == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] != .bool(false))
        if type == "NodePort" || type == "LoadBalancer", spec["externalTrafficPolicy"] == nil {
            spec["externalTrafficPolicy"] = .string("Cluster")
        }
        if type == "LoadBalancer", spec["allocateLoadBalancerNodePorts"] == nil {
            spec["allocateLoadBalancerNodePorts"] = .bool(true)
        }

        let taken = try allocated(tx, except: namespace, name)
        try assignClusterIPs(&spec, old: oldSpec, oldType: oldType, taken: taken, invalid: invalid)

        // Node ports.
        var servicePorts: Set<Int> = []
        if let ports = spec["ports"]?.arrayValue {
            var result: [JSONValue] = []
            var own: Set<String> = []
            for (index, port) in ports.enumerated() {
                guard usesNodePorts || (type == "LoadBalancer" && port["nodePort"] != nil) else {
                    result.append(Self.removing("nodePort", from: port))
                    continue
                }
                var port = port
                let proto = port["protocol"]?.stringValue ?? "TCP"
                if let requested = port["nodePort"]?.int64Value.map(Int.init) {
                    let field = "spec.ports[\(index)].nodePort"
                    if !nodePorts.contains(requested) {
                        throw invalid(
                            field, String(requested),
                            "provided port is not in the valid range. The range of valid ports is "
                                + "\(nodePorts.lowerBound)-\(nodePorts.upperBound)")
                    }
                    if taken.ports.contains(requested) {
                        throw invalid(field, String(requested), "provided port is already allocated")
                    }
                    if own.contains("\(requested)/\(proto)") {
                        throw Status.invalid(
                            Resources.service, name: name,
                            causes: [
                                Status.Cause(
                                    reason: "FieldValueDuplicate",
                                    message: "Duplicate value: \"\(requested)/\(proto)\"", field: field)
                            ])
                    }
                    own.insert("\(requested)/\(proto)")
                    servicePorts.insert(requested)
                } else {
                    let chosen = try freePort(excluding: taken.ports.union(servicePorts))
                    port["nodePort"] = .number(Double(chosen))
                    own.insert("\(chosen)/\(proto)")
                    servicePorts.insert(chosen)
                }
                result.append(port)
            }
            spec["ports"] = .array(result)
        }
        if type == "LoadBalancer" && spec["externalTrafficPolicy"]?.stringValue == "Local" {
            if let requested = spec["healthCheckNodePort"]?.int64Value.map(Int.init) {
                if !nodePorts.contains(requested) {
                    throw invalid(
                        "spec.healthCheckNodePort", String(requested),
                        "provided port is not in the valid range. The range of valid ports is "
                            + "\(nodePorts.lowerBound)-\(nodePorts.upperBound)")
                }
                if taken.ports.contains(requested) || servicePorts.contains(requested) {
                    throw invalid("spec.healthCheckNodePort", String(requested), "provided port is already allocated")
                }
            } else {
                let chosen = try freePort(excluding: taken.ports.union(servicePorts))
                spec["healthCheckNodePort"] = .number(Double(chosen))
            }
        } else {
            spec["healthCheckNodePort"] = nil
        }

        var object = new
        object["spec"] = spec
        return object
    }

    private func assignClusterIPs(
        _ spec: inout JSONValue, old oldSpec: JSONValue?, oldType: String, taken: Allocated,
        invalid: (String, String, String) -> Status
    ) throws {
        var requested = spec["clusterIPs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let single = spec["clusterIP"]?.stringValue, !single.isEmpty {
            if requested.isEmpty {
                requested = [single]
            } else if requested[0] != single {
                throw invalid(
                    "spec.clusterIPs[0]", "\"\(requested[0])\"",
                    "must be equal to `clusterIP` when both are specified")
            }
        }
        requested = requested.filter { !$0.isEmpty }
        let headless = requested.first == "None"
        if headless && requested.count > 1 {
            throw invalid("spec.clusterIPs[1]", "\"\(requested[1])\"", "must be empty when the first is 'None'")
        }
        // Families: the requested ones, checked against the requested addresses.
        let familyNames = spec["ipFamilies"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var families: [IPFamily] = []
        for (index, text) in familyNames.enumerated() {
            guard let family = Self.family(named: text) else {
                throw invalid("spec.ipFamilies[\(index)]", "\"\(text)\"", "supported values: \"IPv4\", \"IPv6\"")
            }
            if families.contains(family) {
                throw invalid("spec.ipFamilies[\(index)]", "\"\(text)\"", "may not be repeated")
            }
            families.append(family)
        }
        var addresses: [IPAddress] = []
        if !headless {
            for (index, text) in requested.enumerated() {
                guard let address = IPAddress(text) else {
                    throw invalid(
                        "spec.clusterIPs[\(index)]", "\"\(text)\"",
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
                }
                if index < families.count, families[index] != address.family {
                    throw invalid(
                        "spec.clusterIPs[\(index)]", "\"\(text)\"",
                        "expected an \(Self.familyName(families[index])) value as indicated by `ipFamilies[\(index)]`")
                }
                if index > 0, addresses[0].family == address.family {
                    throw invalid(
                        "spec.clusterIPs", "[]string{\(requested.map { "\"\($0)\"" }.joined(separator: ", "))}",
                        "may specify no more than one IP for each IP family")
                }
                addresses.append(address)
                if index >= families.count { families.append(address.family) }
            }
        }
        let policyText = spec["ipFamilyPolicy"]?.stringValue
        let policy: String
        if let policyText {
            guard ["SingleStack", "PreferDualStack", "RequireDualStack"].contains(policyText) else {
                throw invalid(
                    "spec.ipFamilyPolicy", "\"\(policyText)\"",
                    "supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\"")
            }
            policy = policyText
        } else if families.count == 2 {
            policy = "RequireDualStack"
        } else if headless && spec["selector"] == nil {
            policy = "PreferDualStack"
        } else {
            policy = "SingleStack"
        }
        if policy == "SingleStack" && families.count > 1 {
            throw invalid(
                "spec.ipFamilies", "[]string{\(familyNames.map { "\"\($0)\"" }.joined(separator: ", "))}",
                "when ipFamilyPolicy is SingleStack, may specify no more than one IP family")
        }
        let configured = cidrs.map(\.family)
        if families.isEmpty, let primary = configured.first { families = [primary] }
        if policy != "SingleStack" && families.count == 1, let other = configured.first(where: { $0 != families[0] }) {
            families.append(other)
        }
        for (index, family) in families.enumerated() where !configured.contains(family) {
            if index > 0 && policy == "PreferDualStack" {
                families.removeLast()
                break
            }
            throw invalid(
                "spec.ipFamilies[\(index)]", "\"\(Self.familyName(family))\"", "not configured on this cluster")
        }
        if policy == "RequireDualStack" && families.count < 2 {
            throw invalid(
                "spec.ipFamilyPolicy", "\"RequireDualStack\"", "this cluster is not configured for dual-stack services")
        }
        // A cluster IP, once set, stays (unless the Service was of type ExternalName).
        if let oldSpec, oldType != "ExternalName",
            let oldPrimary = oldSpec["clusterIPs"]?.arrayValue?.first?.stringValue ?? oldSpec["clusterIP"]?.stringValue,
            !oldPrimary.isEmpty, oldPrimary != requested.first ?? ""
        {
            throw invalid("spec.clusterIPs[0]", "\"\(requested.first ?? "")\"", "may not change once set")
        }
        spec["ipFamilies"] = .array(families.map { .string(Self.familyName($0)) })
        spec["ipFamilyPolicy"] = .string(policy)
        if headless {
            spec["clusterIP"] = .string("None")
            spec["clusterIPs"] = .array([.string("None")])
            return
        }
        var result: [IPAddress] = []
        for (index, family) in families.enumerated() {
            guard let cidr = cidrs.first(where: { $0.family == family }) else { continue }
            if index < addresses.count {
                let address = addresses[index]
                let list = "[]string{\(requested.map { "\"\($0)\"" }.joined(separator: ", "))}"
                guard cidr.contains(address), address != cidr.address, family == .v6 || address != cidr.lastAddress
                else {
                    throw invalid(
                        "spec.clusterIPs", list,
                        "failed to allocate IP \(address): the provided IP (\(address)) is not in the valid range. "
                            + "The range of valid IPs is \(cidr)")
                }
                if taken.addresses.contains(address) {
                    throw invalid(
                        "spec.clusterIPs", list, "failed to allocate IP \(address): provided IP is already allocated")
                }
                result.append(address)
            } else {
                result.append(try freeAddress(in: cidr, excluding: taken.addresses))
            }
        }
        spec["clusterIP"] = .string(result[0].description)
        spec["clusterIPs"] = .array(result.map { .string($0.description) })
    }

    /// A random free address of `cidr`, skipping the network address, the first host (kept for the `kubernetes`
    /// Service, as kube does) and the IPv4 broadcast address.
    private func freeAddress(in cidr: IPPrefix, excluding taken: Set<IPAddress>) throws -> IPAddress {
        let reserved: UInt128 = cidr.family == .v4 ? 3 : 2
        guard cidr.size > reserved else { throw Self.rangeFull(cidr) }
        let count = min(cidr.size - reserved, UInt128(UInt64.max))
        let start = UInt128(UInt64.random(in: 0..<UInt64(count)))
        let base = cidr.address.numeric + 2
        var offset = start
        repeat {
            let address = IPAddress(family: cidr.family, numeric: base + offset)
            if !taken.contains(address) { return address }
            offset = (offset + 1) % count
        } while offset != start
        throw Self.rangeFull(cidr)
    }

    private static func rangeFull(_ cidr: IPPrefix) -> Status {
        Status(code: 500, reason: "InternalError", message: "failed to allocate a serviceIP: range is full (\(cidr))")
    }

    private func freePort(excluding taken: Set<Int>) throws -> Int {
        let start = Int.random(in: nodePorts)
        var port = start
        repeat {
            if !taken.contains(port) { return port }
            port = port == nodePorts.upperBound ? nodePorts.lowerBound : port + 1
        } while port != start
        throw Status(
            code: 500, reason: "InternalError",
            message: "failed to allocate a nodePort: range is full (\(nodePorts.lowerBound)-\(nodePorts.upperBound))")
    }

    private static func removing(_ key: String, from value: JSONValue) -> JSONValue {
        var copy = value
        if case .object = copy { copy[key] = nil }
        return copy
    }
}
