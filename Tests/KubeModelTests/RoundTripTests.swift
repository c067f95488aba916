import Foundation
import KubeModel
import Testing
import WeftNet

/// Decodes the single object of a YAML manifest as `T`, checks that encoding gives back exactly the JSON it came
/// from (every key, modelled or not) and that decoding that again gives an equal value. `JSONValueDecoder` (which
/// Manifest uses) and Foundation's `JSONDecoder` must decode the same object.
func roundTrip<T: KubeObject>(_ yaml: String, as type: T.Type) throws -> T {
    let documents = try Manifest.decodeDocuments(yaml)
    try #require(documents.count == 1)
    let object = try Manifest.decode(documents[0], as: T.self)
    #expect(try JSONDecoder().decode(T.self, from: Data(documents[0].serialized())) == object)
    let encoded = try Manifest.encode(object)
    let text = (try? encoded.jsonText(pretty: true)) ?? ""
    #expect(encoded == documents[0], "re-encoded \(T.resource.kind) differs:\n\(text)")
    #expect(try Manifest.decode(encoded, as: T.self) == object)
    return object
}

@Suite struct RoundTripTests {
    @Test func pod() throws {
        let pod = try roundTrip(
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web-7d4b9c-x2x9q
              namespace: default
              uid: 0b6f1c2e-1111-4222-8333-944455556666
              resourceVersion: "4711"
              creationTimestamp: "2024-05-01T10:00:00Z"
              labels: {app: web, pod-template-hash: 7d4b9c}
              ownerReferences:
              - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, uid: abc, controller: true, blockOwnerDeletion: true}
              managedFields:
              - {manager: kubectl, operation: Update, apiVersion: v1}
            spec:
              nodeName: node-1
              hostname: web-0
              subdomain: web
              restartPolicy: Always
              schedulerName: default-scheduler
              tolerations:
              - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
              containers:
              - name: nginx
                image: nginx:1.27
                command: [nginx]
                args: ["-g", "daemon off;"]
                ports:
                - {name: http, containerPort: 80, protocol: TCP}
                - {name: metrics, containerPort: 9090, hostPort: 19090, hostIP: 127.0.0.1}
                readinessProbe:
                  httpGet: {path: /healthz, port: http}
                  periodSeconds: 5
                volumeMounts:
                - {name: config, mountPath: /etc/nginx/conf.d, readOnly: true}
                resources:
                  limits: {cpu: 500m, memory: 128Mi}
              volumes:
              - name: config
                configMap: {name: web-config}
              securityContext: {runAsNonRoot: true}
            status:
              phase: Running
              podIP: 10.244.1.5
              podIPs: [{ip: 10.244.1.5}, {ip: "fd00:10:244:1::5"}]
              hostIP: 192.168.1.10
              hostIPs: [{ip: 192.168.1.10}]
              startTime: "2024-05-01T10:00:01Z"
              qosClass: Burstable
              conditions:
              - {type: Ready, status: "True", lastProbeTime: null, lastTransitionTime: "2024-05-01T10:00:05Z"}
              - {type: PodScheduled, status: "True"}
              containerStatuses:
              - name: nginx
                ready: true
                restartCount: 0
                state: {running: {startedAt: "2024-05-01T10:00:04Z"}}
            """.replacingOccurrences(of: "lastProbeTime: null, ", with: ""), as: Pod.self)
        #expect(pod.apiVersion == "v1" && pod.kind == "Pod")
        #expect(pod.metadata.ownerReferences?.first?.controller == true)
        #expect(pod.metadata.unknown.values["managedFields"] != nil)
        let spec = try #require(pod.spec)
        #expect(spec.nodeName == "node-1" && spec.hostname == "web-0" && spec.subdomain == "web")
        #expect(spec.restartPolicy == "Always" && spec.schedulerName == "default-scheduler")
        #expect(spec.tolerations?.count == 1)
        #expect(Set(spec.unknown.values.keys) == ["volumes", "securityContext"])
        let container = spec.containers[0]
        #expect(container.name == "nginx" && container.image == "nginx:1.27" && container.command == ["nginx"])
        #expect(container.args == ["-g", "daemon off;"])
        #expect(container.ports?[0] == ContainerPort(name: "http", containerPort: 80, protocol: .tcp))
        #expect(container.ports?[1].hostPort == 19090 && container.ports?[1].hostIP == "127.0.0.1")
        #expect(container.readinessProbe?["periodSeconds"] == .number(5))
        #expect(Set(container.unknown.values.keys) == ["volumeMounts", "resources"])
        let status = try #require(pod.status)
        #expect(status.phase == "Running" && status.podIP == "10.244.1.5" && status.hostIP == "192.168.1.10")
        #expect(status.podIPs?.map(\.ip) == ["10.244.1.5", "fd00:10:244:1::5"])
        #expect(status.hostIPs?.map(\.ip) == ["192.168.1.10"])
        #expect(status.containerStatuses?[0]["restartCount"] == .number(0))
        #expect(status.unknown.values.keys.sorted() == ["qosClass"])
        #expect(pod.isReady)
    }

    @Test func podWithNullIsDecodedAsAbsent() throws {
        let value = try JSONValue(json: #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":null}"#)
        let pod = try Manifest.decode(value, as: Pod.self)
        #expect(pod.spec == nil)
        #expect(try Manifest.encode(pod)["spec"] == nil)
    }

    @Test func node() throws {
        let node = try roundTrip(
            """
            apiVersion: v1
            kind: Node
            metadata:
              name: node-1
              labels: {kubernetes.io/hostname: node-1, node-role.kubernetes.io/control-plane: ""}
            spec:
              podCIDR: 10.244.1.0/24
              podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
              unschedulable: true
              taints:
              - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
              - {key: example.com/gpu, value: "true", effect: NoExecute, timeAdded: "2024-05-01T10:00:00Z"}
            status:
              addresses:
              - {type: InternalIP, address: 192.168.1.10}
              - {type: Hostname, address: node-1}
              conditions:
              - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status,
                 lastHeartbeatTime: "2024-05-01T10:00:00Z", lastTransitionTime: "2024-05-01T09:00:00Z"}
              capacity: {cpu: "4", memory: 16Gi, pods: "110"}
              nodeInfo: {kubeletVersion: v1.32.4, architecture: amd64}
            """, as: Node.self)
        #expect(node.spec?.podCIDRs == ["10.244.1.0/24", "fd00:10:244:1::/64"])
        #expect(node.spec?.unschedulable == true)
        #expect(
            node.spec?.taints?[1]
                == {
                    var t = Taint(key: "example.com/gpu", value: "true", effect: "NoExecute")
                    t.timeAdded = "2024-05-01T10:00:00Z"
                    return t
                }())
        #expect(node.status?.addresses?[0] == NodeAddress(type: "InternalIP", address: "192.168.1.10"))
        #expect(node.status?.conditions?[0].lastHeartbeatTime == "2024-05-01T10:00:00Z")
        #expect(node.isReady)
        #expect(node.status?.unknown.values.keys.sorted() == ["capacity", "nodeInfo"])
    }

    @Test func namespace() throws {
        let ns = try roundTrip(
            """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: team-a
              labels: {kubernetes.io/metadata.name: team-a}
            spec: {finalizers: [kubernetes]}
            status: {phase: Active}
            """, as: Namespace.self)
        #expect(ns.spec?.finalizers == ["kubernetes"] && ns.status?.phase == "Active")
        #expect(ns.metadata.labels?[Namespace.nameLabel] == "team-a")
    }

    @Test func service() throws {
        let svc = try roundTrip(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              type: LoadBalancer
              clusterIP: 10.96.0.10
              clusterIPs: [10.96.0.10, "fd00:10:96::a"]
              ipFamilies: [IPv4, IPv6]
              ipFamilyPolicy: PreferDualStack
              selector: {app: web}
              ports:
              - {name: http, protocol: TCP, port: 80, targetPort: http, nodePort: 30080, appProtocol: http}
              - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
              sessionAffinity: ClientIP
              sessionAffinityConfig: {clientIP: {timeoutSeconds: 10800}}
              externalTrafficPolicy: Local
              internalTrafficPolicy: Cluster
              healthCheckNodePort: 32000
              loadBalancerSourceRanges: [10.0.0.0/8]
              externalIPs: [192.0.2.10]
              publishNotReadyAddresses: true
              trafficDistribution: PreferClose
              allocateLoadBalancerNodePorts: true
            status:
              loadBalancer:
                ingress: [{ip: 192.0.2.100, ipMode: VIP}]
            """, as: Service.self)
        let spec = try #require(svc.spec)
        #expect(spec.type == "LoadBalancer" && spec.clusterIP == "10.96.0.10" && spec.ipFamilies == ["IPv4", "IPv6"])
        #expect(spec.ipFamilyPolicy == "PreferDualStack" && spec.selector == ["app": "web"])
        #expect(spec.ports?[0].targetPort == .string("http") && spec.ports?[0].nodePort == 30080)
        #expect(spec.ports?[0].appProtocol == "http")
        #expect(spec.ports?[1] == ServicePort(name: "dns", protocol: .udp, port: 53, targetPort: 5353))
        #expect(spec.sessionAffinity == "ClientIP")
        #expect(spec.sessionAffinityConfig?["clientIP"]?["timeoutSeconds"] == .number(10800))
        #expect(spec.externalTrafficPolicy == "Local" && spec.internalTrafficPolicy == "Cluster")
        #expect(spec.healthCheckNodePort == 32000 && spec.loadBalancerSourceRanges == ["10.0.0.0/8"])
        #expect(spec.externalIPs == ["192.0.2.10"] && spec.publishNotReadyAddresses == true)
        #expect(spec.trafficDistribution == "PreferClose")
        #expect(spec.unknown.isEmpty)
        #expect(svc.status?.loadBalancer?.ingress?[0].ip == "192.0.2.100")
        #expect(svc.status?.loadBalancer?.ingress?[0].ipMode == "VIP")
    }

    @Test func externalNameService() throws {
        let svc = try roundTrip(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: db, namespace: default}
            spec: {type: ExternalName, externalName: db.example.com, clusterIP: None}
            """, as: Service.self)
        #expect(svc.spec?.externalName == "db.example.com" && svc.spec?.isHeadless == true)
    }

    @Test func endpointSlice() throws {
        let slice = try roundTrip(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-abc12
              namespace: default
              labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: weft}
            addressType: IPv4
            endpoints:
            - addresses: [10.244.1.5]
              conditions: {ready: true, serving: true, terminating: false}
              hostname: web-0
              nodeName: node-1
              zone: zone-a
              hints: {forZones: [{name: zone-a}], forNodes: [{name: node-1}]}
              targetRef: {kind: Pod, namespace: default, name: web-0, uid: "1234"}
            - addresses: [10.244.2.7]
              conditions: {ready: false, serving: true, terminating: true}
            ports:
            - {name: http, protocol: TCP, port: 8080, appProtocol: http}
            """, as: EndpointSlice.self)
        #expect(slice.addressType == "IPv4" && slice.serviceName == "web")
        let endpoint = slice.endpoints[0]
        #expect(endpoint.addresses == ["10.244.1.5"] && endpoint.hostname == "web-0" && endpoint.zone == "zone-a")
        #expect(endpoint.conditions == EndpointConditions(ready: true, serving: true, terminating: false))
        #expect(endpoint.hints?.forZones?.map(\.name) == ["zone-a"])
        #expect(endpoint.hints?.forNodes?.map(\.name) == ["node-1"])
        #expect(endpoint.targetRef == ObjectReference(kind: "Pod", namespace: "default", name: "web-0", uid: "1234"))
        #expect(slice.endpoints[1].conditions?.terminating == true)
        #expect(slice.ports?[0].port == 8080 && slice.ports?[0].protocol == .tcp)
    }

    @Test func secretAndConfigMap() throws {
        let secret = try roundTrip(
            """
            apiVersion: v1
            kind: Secret
            metadata: {name: tls, namespace: default}
            type: kubernetes.io/tls
            data:
              tls.crt: aGVsbG8=
            stringData:
              note: plain text
            """, as: Secret.self)
        #expect(secret.type == "kubernetes.io/tls")
        #expect(secret.value(forKey: "tls.crt") == Array("hello".utf8))
        #expect(secret.value(forKey: "note") == Array("plain text".utf8))
        #expect(secret.value(forKey: "missing") == nil)
        var copy = secret
        copy.setValue(Array("bytes".utf8), forKey: "k")
        #expect(copy.data?["k"] == "Ynl0ZXM=")

        let cm = try roundTrip(
            """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cfg, namespace: default}
            data: {Corefile: ".:53 {\\n  forward . /etc/resolv.conf\\n}\\n", port: "53"}
            binaryData: {blob: AAEC}
            immutable: true
            """, as: ConfigMap.self)
        #expect(cm.data?["port"] == "53" && cm.data?["Corefile"]?.hasPrefix(".:53 {\n") == true)
        #expect(cm.binaryData == ["blob": "AAEC"] && cm.immutable == true)
    }

    @Test func deploymentAndDaemonSet() throws {
        let deployment = try roundTrip(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default, generation: 3}
            spec:
              replicas: 3
              selector:
                matchLabels: {app: web}
              strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
              template:
                metadata:
                  labels: {app: web}
                  annotations: {k8s.v1.cni.cncf.io/networks: macvlan-conf}
                spec:
                  containers:
                  - name: web
                    image: nginx
                    ports: [{containerPort: 80, name: http}]
                    env: [{name: A, value: b}]
            status:
              observedGeneration: 3
              replicas: 3
              updatedReplicas: 3
              readyReplicas: 2
              availableReplicas: 2
              unavailableReplicas: 1
              conditions:
              - {type: Available, status: "False", reason: MinimumReplicasUnavailable,
                 lastUpdateTime: "2024-05-01T10:00:00Z", lastTransitionTime: "2024-05-01T10:00:00Z"}
            """, as: Deployment.self)
        #expect(deployment.spec?.replicas == 3 && deployment.spec?.selector?.matchLabels == ["app": "web"])
        #expect(deployment.spec?.template.metadata?.labels == ["app": "web"])
        #expect(deployment.spec?.template.spec?.containers[0].ports?[0].name == "http")
        #expect(deployment.spec?.template.spec?.containers[0].env?.first?.value == "b")
        #expect(deployment.spec?.template.spec?.containers[0].unknown.values.isEmpty == true)
        #expect(deployment.status?.readyReplicas == 2 && deployment.status?.unavailableReplicas == 1)
        #expect(deployment.status?.conditions?[0].unknown.values.keys.sorted() == ["lastUpdateTime"])

        let ds = try roundTrip(
            """
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: weft-agent, namespace: kube-system}
            spec:
              selector: {matchLabels: {app: weft-agent}}
              updateStrategy: {type: RollingUpdate}
              template:
                metadata: {labels: {app: weft-agent}}
                spec:
                  hostNetwork: true
                  tolerations: [{operator: Exists}]
                  containers: [{name: agent, image: weft:dev, securityContext: {privileged: true}}]
            status: {currentNumberScheduled: 2, desiredNumberScheduled: 2, numberReady: 1, numberMisscheduled: 0,
                     updatedNumberScheduled: 2, numberAvailable: 1, numberUnavailable: 1, observedGeneration: 1}
            """, as: DaemonSet.self)
        #expect(ds.spec?.template.spec?.hostNetwork == true)
        #expect(ds.status?.desiredNumberScheduled == 2 && ds.status?.numberReady == 1)
        #expect(ds.status?.numberUnavailable == 1 && ds.status?.unknown.isEmpty == true)
    }

    @Test func networkPolicy() throws {
        let policy = try roundTrip(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: db, namespace: prod}
            spec:
              podSelector:
                matchLabels: {role: db}
              policyTypes: [Ingress, Egress]
              ingress:
              - from:
                - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
                - namespaceSelector: {matchLabels: {project: myproject}}
                  podSelector:
                    matchExpressions: [{key: role, operator: In, values: [frontend, api]}]
                ports:
                - {protocol: TCP, port: 6379}
                - {protocol: TCP, port: http}
              egress:
              - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
                ports: [{protocol: TCP, port: 32000, endPort: 32768}]
              - {}
            """, as: NetworkPolicy.self)
        let spec = try #require(policy.spec)
        #expect(spec.podSelector == LabelSelector(matchLabels: ["role": "db"]))
        #expect(spec.effectivePolicyTypes == ["Ingress", "Egress"])
        let from = try #require(spec.ingress?[0].from)
        #expect(from[0].ipBlock == IPBlock(cidr: "172.17.0.0/16", except: ["172.17.1.0/24"]))
        #expect(from[1].namespaceSelector?.matchLabels == ["project": "myproject"])
        #expect(
            from[1].podSelector?.matchExpressions == [
                LabelSelectorRequirement(key: "role", operator: .in, values: ["frontend", "api"])
            ])
        #expect(spec.ingress?[0].ports?[1].port == .string("http"))
        #expect(spec.egress?[0].ports?[0] == NetworkPolicyPort(protocol: .tcp, port: 32000, endPort: 32768))
        #expect(spec.egress?[1] == NetworkPolicyEgressRule())
        #expect(NetworkPolicySpec(podSelector: LabelSelector()).effectivePolicyTypes == ["Ingress"])
    }

    @Test func ingressAndIngressClass() throws {
        let ingress = try roundTrip(
            """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: web
              namespace: default
              annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
            spec:
              ingressClassName: weft
              defaultBackend:
                service: {name: fallback, port: {number: 80}}
              tls:
              - hosts: [web.example.com]
                secretName: web-tls
              rules:
              - host: web.example.com
                http:
                  paths:
                  - path: /api
                    pathType: Prefix
                    backend:
                      service: {name: api, port: {name: http}}
                  - path: /
                    pathType: Exact
                    backend:
                      resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: static-assets}
            status:
              loadBalancer:
                ingress: [{ip: 192.0.2.1, ports: [{port: 443, protocol: TCP}]}]
            """, as: Ingress.self)
        let spec = try #require(ingress.spec)
        #expect(spec.ingressClassName == "weft")
        #expect(spec.defaultBackend?.service?.port == ServiceBackendPort(number: 80))
        #expect(spec.tls?[0] == IngressTLS(hosts: ["web.example.com"], secretName: "web-tls"))
        let paths = try #require(spec.rules?[0].http?.paths)
        #expect(spec.rules?[0].host == "web.example.com")
        #expect(paths[0].path == "/api" && paths[0].pathType == "Prefix")
        #expect(paths[0].backend.service == IngressServiceBackend(name: "api", port: ServiceBackendPort(name: "http")))
        #expect(paths[1].backend.resource?["kind"] == .string("StorageBucket"))
        #expect(ingress.status?.loadBalancer?.ingress?[0].ip == "192.0.2.1")

        let cls = try roundTrip(
            """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata:
              name: weft
              annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
            spec:
              controller: weft.dev/ingress
              parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: external-lb, scope: Cluster}
            """, as: IngressClass.self)
        #expect(cls.spec?.controller == "weft.dev/ingress" && cls.isDefault)
        #expect(cls.spec?.parameters?["scope"] == .string("Cluster"))
    }

    @Test func networkAttachmentDefinition() throws {
        let nad = try roundTrip(
            """
            apiVersion: k8s.cni.cncf.io/v1
            kind: NetworkAttachmentDefinition
            metadata: {name: macvlan-conf, namespace: default}
            spec:
              config: '{"cniVersion": "1.0.0", "type": "macvlan", "master": "eth0", "ipam": {"type": "host-local"}}'
            """, as: NetworkAttachmentDefinition.self)
        let config = try JSONValue(json: try #require(nad.spec?.config))
        #expect(config["type"] == .string("macvlan"))
    }

    @Test func gatewayAPI() throws {
        let gatewayClass = try roundTrip(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: weft}
            spec: {controllerName: weft.dev/gateway-controller, description: Weft's gateway}
            status:
              conditions: [{type: Accepted, status: "True", reason: Accepted, message: ok, observedGeneration: 1,
                            lastTransitionTime: "2024-05-01T10:00:00Z"}]
            """, as: GatewayClass.self)
        #expect(gatewayClass.spec.controllerName == "weft.dev/gateway-controller")
        #expect(
            gatewayClass.status?.conditions?[0]
                == Condition(
                    type: "Accepted", status: "True", reason: "Accepted", message: "ok",
                    lastTransitionTime: "2024-05-01T10:00:00Z", observedGeneration: 1))

        let gateway = try roundTrip(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: web, namespace: infra}
            spec:
              gatewayClassName: weft
              addresses: [{type: IPAddress, value: 192.0.2.50}]
              listeners:
              - name: http
                port: 80
                protocol: HTTP
                allowedRoutes:
                  namespaces:
                    from: Selector
                    selector: {matchLabels: {shared-gateway-access: "true"}}
                  kinds: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]
              - name: https
                hostname: "*.example.com"
                port: 443
                protocol: HTTPS
                tls:
                  mode: Terminate
                  certificateRefs: [{kind: Secret, name: wildcard-tls, namespace: certs}]
            status:
              addresses: [{type: IPAddress, value: 192.0.2.50}]
              conditions: [{type: Programmed, status: "True", reason: Programmed, message: "", lastTransitionTime: "2024-05-01T10:00:00Z"}]
              listeners:
              - name: http
                attachedRoutes: 2
                supportedKinds: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]
                conditions: [{type: Accepted, status: "True", reason: Accepted, message: "", lastTransitionTime: "2024-05-01T10:00:00Z"}]
            """, as: Gateway.self)
        #expect(gateway.spec.gatewayClassName == "weft" && gateway.spec.addresses?[0].value == "192.0.2.50")
        let http = gateway.spec.listeners[0]
        #expect(http.name == "http" && http.port == 80 && http.protocol == "HTTP")
        #expect(http.allowedRoutes?.namespaces?.from == "Selector")
        #expect(http.allowedRoutes?.namespaces?.selector?.matchLabels == ["shared-gateway-access": "true"])
        #expect(http.allowedRoutes?.kinds?[0].kind == "HTTPRoute")
        let https = gateway.spec.listeners[1]
        #expect(https.hostname == "*.example.com" && https.tls?.mode == "Terminate")
        #expect(https.tls?.certificateRefs?[0].name == "wildcard-tls")
        #expect(https.tls?.certificateRefs?[0].namespace == "certs")
        #expect(gateway.status?.listeners?[0].attachedRoutes == 2)
        #expect(gateway.status?.conditions?[0].type == "Programmed")
    }

    @Test func httpRoute() throws {
        let route = try roundTrip(
            """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: shop, namespace: default}
            spec:
              parentRefs:
              - {name: web, namespace: infra, sectionName: https}
              hostnames: [shop.example.com]
              rules:
              - name: api
                matches:
                - path: {type: PathPrefix, value: /api}
                  headers: [{type: Exact, name: x-version, value: "2"}]
                  queryParams: [{name: debug, value: "1"}]
                  method: GET
                filters:
                - type: RequestHeaderModifier
                  requestHeaderModifier:
                    set: [{name: x-from, value: weft}]
                    add: [{name: x-extra, value: "1"}]
                    remove: [x-internal]
                - type: ResponseHeaderModifier
                  responseHeaderModifier: {remove: [server]}
                - type: URLRewrite
                  urlRewrite: {hostname: api.internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
                backendRefs:
                - {name: api-v1, port: 8080, weight: 90}
                - {name: api-v2, port: 8080, weight: 10}
                timeouts: {request: 10s}
              - matches: [{path: {type: Exact, value: /old}}]
                filters:
                - type: RequestRedirect
                  requestRedirect: {scheme: https, hostname: new.example.com, statusCode: 301,
                                    path: {type: ReplaceFullPath, replaceFullPath: /new}, port: 443}
            status:
              parents:
              - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: web, namespace: infra}
                controllerName: weft.dev/gateway-controller
                conditions: [{type: Accepted, status: "True", reason: Accepted, message: "", lastTransitionTime: "2024-05-01T10:00:00Z"}]
            """, as: HTTPRoute.self)
        let spec = route.spec
        #expect(spec.parentRefs?[0] == ParentReference(name: "web", namespace: "infra", sectionName: "https"))
        #expect(spec.hostnames == ["shop.example.com"])
        let rule = try #require(spec.rules?[0])
        #expect(rule.name == "api")
        let match = try #require(rule.matches?[0])
        #expect(match.path == HTTPPathMatch(type: "PathPrefix", value: "/api") && match.method == "GET")
        #expect(match.headers?[0] == HTTPValueMatch(type: "Exact", name: "x-version", value: "2"))
        #expect(match.queryParams?[0] == HTTPValueMatch(name: "debug", value: "1"))
        let filters = try #require(rule.filters)
        #expect(filters[0].requestHeaderModifier?.set == [HTTPHeader(name: "x-from", value: "weft")])
        #expect(filters[0].requestHeaderModifier?.add == [HTTPHeader(name: "x-extra", value: "1")])
        #expect(filters[0].requestHeaderModifier?.remove == ["x-internal"])
        #expect(filters[1].responseHeaderModifier?.remove == ["server"])
        #expect(filters[2].urlRewrite?.hostname == "api.internal")
        #expect(filters[2].urlRewrite?.path == HTTPPathModifier(type: "ReplacePrefixMatch", replacePrefixMatch: "/"))
        #expect(rule.backendRefs?.map(\.weight) == [90, 10] && rule.backendRefs?[0].port == 8080)
        #expect(rule.timeouts?["request"] == .string("10s"))
        let redirect = try #require(spec.rules?[1].filters?[0].requestRedirect)
        #expect(redirect.scheme == "https" && redirect.hostname == "new.example.com" && redirect.statusCode == 301)
        #expect(redirect.path?.replaceFullPath == "/new" && redirect.port == 443)
        #expect(route.status?.parents[0].controllerName == "weft.dev/gateway-controller")
        #expect(route.status?.parents[0].parentRef.kind == "Gateway")
    }

    @Test func adminNetworkPolicies() throws {
        let anp = try roundTrip(
            """
            apiVersion: policy.networking.k8s.io/v1alpha1
            kind: AdminNetworkPolicy
            metadata: {name: cluster-control}
            spec:
              priority: 20
              subject:
                pods:
                  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: sensitive-ns}}
                  podSelector: {matchLabels: {app: db}}
              ingress:
              - name: allow-monitoring
                action: Allow
                from:
                - namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
                ports:
                - portNumber: {protocol: TCP, port: 9090}
                - namedPort: metrics
              - name: pass-rest
                action: Pass
                from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: x}}}}]
              egress:
              - name: deny-external
                action: Deny
                to:
                - networks: [0.0.0.0/0, "::/0"]
                - nodes: {matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]}
                ports:
                - portRange: {protocol: UDP, start: 30000, end: 32767}
            status:
              conditions: [{type: Ready, status: "True", reason: SetupSucceeded, message: ok, lastTransitionTime: "2024-05-01T10:00:00Z"}]
            """, as: AdminNetworkPolicy.self)
        #expect(anp.spec.priority == 20)
        #expect(anp.spec.subject.pods?.podSelector.matchLabels == ["app": "db"])
        let ingress = try #require(anp.spec.ingress)
        #expect(ingress[0].name == "allow-monitoring" && ingress[0].action == "Allow")
        #expect(ingress[0].from?[0].namespaces?.matchLabels == ["kubernetes.io/metadata.name": "monitoring"])
        #expect(ingress[0].ports?[0].portNumber == .init(protocol: .tcp, port: 9090))
        #expect(ingress[0].ports?[1].namedPort == "metrics")
        #expect(ingress[1].action == "Pass" && ingress[1].from?[0].pods?.namespaceSelector.isEmpty == true)
        let egress = try #require(anp.spec.egress?[0])
        #expect(egress.to?[0].networks == ["0.0.0.0/0", "::/0"])
        #expect(egress.to?[1].nodes?.matchExpressions?[0].operator == .exists)
        #expect(egress.ports?[0].portRange == .init(protocol: .udp, start: 30000, end: 32767))

        let banp = try roundTrip(
            """
            apiVersion: policy.networking.k8s.io/v1alpha1
            kind: BaselineAdminNetworkPolicy
            metadata: {name: default}
            spec:
              subject: {namespaces: {}}
              ingress:
              - {name: default-deny, action: Deny, from: [{namespaces: {}}]}
            """, as: BaselineAdminNetworkPolicy.self)
        #expect(banp.spec.subject.namespaces?.isEmpty == true && banp.spec.ingress?[0].action == "Deny")
    }

    @Test func defaultsAndConstruction() throws {
        let svc = Service(
            metadata: ObjectMeta(name: "web", namespace: "default"),
            spec: ServiceSpec(ports: [ServicePort(name: "http", port: 80, targetPort: "http")], selector: ["a": "b"]))
        let json = try Manifest.encode(svc)
        #expect(json["apiVersion"] == .string("v1") && json["kind"] == .string("Service"))
        #expect(
            json["spec"]?["ports"]
                == .array([.object(["name": .string("http"), "port": .number(80), "targetPort": .string("http")])]))
        #expect(json["status"] == nil)
        #expect(EndpointSlice().apiVersion == "discovery.k8s.io/v1")
        #expect(try Manifest.encode(HTTPRoute())["apiVersion"] == .string("gateway.networking.k8s.io/v1"))
    }

    @Test func event() throws {
        let event = try roundTrip(
            """
            apiVersion: v1
            kind: Event
            metadata:
              name: web.17f3a2b1c0d4e5f6
              namespace: default
              resourceVersion: "812"
              uid: 5d6a8c1e-3f0b-4d8e-9a7b-2c4e6f8a0b1c
              creationTimestamp: "2026-11-27T10:00:00Z"
            involvedObject:
              apiVersion: v1
              kind: Pod
              name: web
              namespace: default
              uid: 0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b
              resourceVersion: "801"
              fieldPath: spec.containers{web}
            reason: FailedCreatePodSandBox
            message: 'network "storage" not found'
            type: Warning
            source: {component: weft-agent, host: node-1}
            firstTimestamp: "2026-11-27T10:00:00Z"
            lastTimestamp: "2026-11-27T10:00:05Z"
            count: 3
            reportingComponent: weft-agent
            reportingInstance: node-1
            series: {count: 2, lastObservedTime: "2026-11-27T10:00:05.000000Z"}
            """, as: Event.self)
        #expect(event.involvedObject.name == "web")
        #expect(event.involvedObject.fieldPath == "spec.containers{web}")
        #expect(event.type == "Warning")
        #expect(event.count == 3)
        #expect(event.source?.host == "node-1")
        #expect(event.unknown.values["series"]?["count"] == .number(2))
        let made = Event(
            metadata: ObjectMeta(name: "x", namespace: "default"),
            involvedObject: ObjectReference(kind: "Pod", namespace: "default", name: "web"), reason: "Scheduled",
            message: "assigned", component: "weft-scheduler")
        #expect(made.source?.component == "weft-scheduler" && made.type == "Normal")
    }

    @Test func everyResourceHasAType() {
        let types: [any KubeObject.Type] = [
            Namespace.self, Node.self, Pod.self, Service.self, Secret.self, ConfigMap.self, Event.self,
            EndpointSlice.self,
            Deployment.self, DaemonSet.self, NetworkPolicy.self, Ingress.self, IngressClass.self,
            NetworkAttachmentDefinition.self, GatewayClass.self, Gateway.self, HTTPRoute.self,
            AdminNetworkPolicy.self, BaselineAdminNetworkPolicy.self,
        ]
        #expect(types.map { $0.resource } == Resources.all)
    }

    @Test func decodeRejectsWrongKindAndBadFields() throws {
        let svc = try JSONValue(json: #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"}}"#)
        #expect(throws: ManifestError(problem: "expected kind Pod, found \"Service\"")) {
            try Manifest.decode(svc, as: Pod.self)
        }
        let wrongVersion = try JSONValue(json: #"{"apiVersion":"apps/v1","kind":"Pod"}"#)
        #expect(throws: ManifestError(problem: "expected apiVersion v1 for Pod, found \"apps/v1\"")) {
            try Manifest.decode(wrongVersion, as: Pod.self)
        }
        let badPort = try JSONValue(
            json: #"{"apiVersion":"v1","kind":"Service","spec":{"ports":[{"port":"eighty"}]}}"#)
        do {
            _ = try Manifest.decode(badPort, as: Service.self)
            Issue.record("decoded a string port")
        } catch {
            #expect(error.problem.hasPrefix("Service: spec.ports[0].port: expected Int"), "\(error)")
        }
    }
}
