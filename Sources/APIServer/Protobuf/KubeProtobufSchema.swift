/// The Kubernetes messages this server decodes from protobuf request bodies: what kubectl's typed `create`
/// generators send (`create namespace|configmap|secret|deployment|service|ingress`), field numbers and JSON names as
/// in the generated protobuf definitions:
///
/// - kubernetes/apimachinery `pkg/apis/meta/v1/generated.proto` (ObjectMeta, OwnerReference, LabelSelector, Time,
///   Condition), `pkg/util/intstr/generated.proto` (IntOrString), `pkg/api/resource/generated.proto` (Quantity);
/// - kubernetes/api `core/v1/generated.proto`, `apps/v1/generated.proto`, `networking/v1/generated.proto`.
///
/// Whether a zero scalar is written follows the Go types' JSON tags (`types.go` next to each `generated.proto`):
/// `emitsZero` marks pointers and fields without `omitempty`. Rarely used subtrees (volumes, probes, lifecycle,
/// security contexts, affinity, `managedFields`, …) are left out on purpose: a body carrying them fails with the
/// message and field number instead of losing them.
enum KubeProtobufSchema {
    static let metaV1 = "k8s.io.apimachinery.pkg.apis.meta.v1."
    static let coreV1 = "k8s.io.api.core.v1."
    static let appsV1 = "k8s.io.api.apps.v1."
    static let networkingV1 = "k8s.io.api.networking.v1."

    static let intOrString = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
    static let quantity = "k8s.io.apimachinery.pkg.api.resource.Quantity"
    static let time = metaV1 + "Time"

    /// The top-level message of each kind, by `apiVersion/kind` as the envelope's TypeMeta names it.
    static let roots: [String: String] = [
        "v1/Namespace": coreV1 + "Namespace",
        "v1/ConfigMap": coreV1 + "ConfigMap",
        "v1/Secret": coreV1 + "Secret",
        "v1/Service": coreV1 + "Service",
        "apps/v1/Deployment": appsV1 + "Deployment",
        "networking.k8s.io/v1/Ingress": networkingV1 + "Ingress",
    ]

    /// Every known message, by protobuf name.
    static let messages: [String: ProtobufMessage] = Dictionary(
        uniqueKeysWithValues: (machinery + core + workloads + networking).map { ($0.name, $0) })

    private typealias Message = ProtobufMessage

    private static let machinery: [Message] = [
        Message(
            metaV1 + "ObjectMeta",
            [
                .string(1, "name"), .string(2, "generateName"), .string(3, "namespace"), .string(4, "selfLink"),
                .string(5, "uid"), .string(6, "resourceVersion"), .int64(7, "generation"),
                .time(8, "creationTimestamp"), .time(9, "deletionTimestamp"),
                .int64(10, "deletionGracePeriodSeconds", emitsZero: true), .map(11, "labels", of: .string),
                .map(12, "annotations", of: .string), .messages(13, "ownerReferences", metaV1 + "OwnerReference"),
                .strings(14, "finalizers"),
            ]),
        Message(
            metaV1 + "OwnerReference",
            [
                .string(5, "apiVersion", emitsZero: true), .string(1, "kind", emitsZero: true),
                .string(3, "name", emitsZero: true), .string(4, "uid", emitsZero: true),
                .bool(6, "controller", emitsZero: true), .bool(7, "blockOwnerDeletion", emitsZero: true),
            ]),
        Message(
            metaV1 + "LabelSelector",
            [
                .map(1, "matchLabels", of: .string),
                .messages(2, "matchExpressions", metaV1 + "LabelSelectorRequirement"),
            ]),
        Message(
            metaV1 + "LabelSelectorRequirement",
            [.string(1, "key", emitsZero: true), .string(2, "operator", emitsZero: true), .strings(3, "values")]),
        Message(
            metaV1 + "Condition",
            [
                .string(1, "type", emitsZero: true), .string(2, "status", emitsZero: true),
                .int64(3, "observedGeneration"), .time(4, "lastTransitionTime"),
                .string(5, "reason", emitsZero: true), .string(6, "message", emitsZero: true),
            ]),
        Message(time, [.int64(1, "seconds", emitsZero: true), .int32(2, "nanos", emitsZero: true)]),
        Message(
            intOrString,
            [.int64(1, "type", emitsZero: true), .int32(2, "intVal", emitsZero: true), .string(3, "strVal")]),
        Message(quantity, [.string(1, "string")]),
    ]

    private static let core: [Message] = [
        Message(
            coreV1 + "Namespace",
            [
                .message(1, "metadata", metaV1 + "ObjectMeta"), .message(2, "spec", coreV1 + "NamespaceSpec"),
                .message(3, "status", coreV1 + "NamespaceStatus"),
            ]),
        Message(coreV1 + "NamespaceSpec", [.strings(1, "finalizers")]),
        Message(
            coreV1 + "NamespaceStatus",
            [.string(1, "phase"), .messages(2, "conditions", coreV1 + "NamespaceCondition")]),
        Message(
            coreV1 + "NamespaceCondition",
            [
                .string(1, "type", emitsZero: true), .string(2, "status", emitsZero: true),
                .time(4, "lastTransitionTime"), .string(5, "reason"), .string(6, "message"),
            ]),
        Message(
            coreV1 + "ConfigMap",
            [
                .message(1, "metadata", metaV1 + "ObjectMeta"), .bool(4, "immutable", emitsZero: true),
                .map(2, "data", of: .string), .map(3, "binaryData", of: .bytes),
            ]),
        Message(
            coreV1 + "Secret",
            [
                .message(1, "metadata", metaV1 + "ObjectMeta"), .bool(5, "immutable", emitsZero: true),
                .map(2, "data", of: .bytes), .map(4, "stringData", of: .string), .string(3, "type"),
            ]),
        Message(
            coreV1 + "Service",
            [
                .message(1, "metadata", metaV1 + "ObjectMeta"), .message(2, "spec", coreV1 + "ServiceSpec"),
                .message(3, "status", coreV1 + "ServiceStatus"),
            ]),
        Message(
            coreV1 + "ServiceSpec",
            [
                .messages(1, "ports", coreV1 + "ServicePort"), .map(2, "selector", of: .string),
                .string(3, "clusterIP"), .strings(18, "clusterIPs"), .string(4, "type"),
                .strings(5, "externalIPs"), .string(7, "sessionAffinity"), .string(8, "loadBalancerIP"),
                .strings(9, "loadBalancerSourceRanges"), .string(10, "externalName"),
                .string(11, "externalTrafficPolicy"), .int32(12, "healthCheckNodePort"),
                .bool(13, "publishNotReadyAddresses"),
                .message(14, "sessionAffinityConfig", coreV1 + "SessionAffinityConfig"),
                .strings(19, "ipFamilies"), .string(17, "ipFamilyPolicy", emitsZero: true),
                .bool(20, "allocateLoadBalancerNodePorts", emitsZero: true),
                .string(21, "loadBalancerClass", emitsZero: true),
                .string(22, "internalTrafficPolicy", emitsZero: true),
                .string(23, "trafficDistribution", emitsZero: true),
            ]),
        Message(
            coreV1 + "ServicePort",
            [
                .string(1, "name"), .string(2, "protocol"), .string(6, "appProtocol", emitsZero: true),
                .int32(3, "port", emitsZero: true), .intOrString(4, "targetPort"), .int32(5, "nodePort"),
            ]),
        Message(coreV1 + "SessionAffinityConfig", [.message(1, "clientIP", coreV1 + "ClientIPConfig")]),
        Message(coreV1 + "ClientIPConfig", [.int32(1, "timeoutSeconds", emitsZero: true)]),
        Message(
            coreV1 + "ServiceStatus",
            [
                .message(1, "loadBalancer", coreV1 + "LoadBalancerStatus"),
                .messages(2, "conditions", metaV1 + "Condition"),
            ]),
        Message(coreV1 + "LoadBalancerStatus", [.messages(1, "ingress", coreV1 + "LoadBalancerIngress")]),
        Message(
            coreV1 + "LoadBalancerIngress",
            [
                .string(1, "ip"), .string(2, "hostname"), .string(3, "ipMode", emitsZero: true),
                .messages(4, "ports", coreV1 + "PortStatus"),
            ]),
        Message(
            coreV1 + "PortStatus",
            [
                .int32(1, "port", emitsZero: true), .string(2, "protocol", emitsZero: true),
                .string(3, "error", emitsZero: true),
            ]),
        Message(
            coreV1 + "PodTemplateSpec",
            [.message(1, "metadata", metaV1 + "ObjectMeta"), .message(2, "spec", coreV1 + "PodSpec")]),
        Message(
            coreV1 + "PodSpec",
            [
                .messages(20, "initContainers", coreV1 + "Container"), .messages(2, "containers", coreV1 + "Container"),
                .string(3, "restartPolicy"), .int64(4, "terminationGracePeriodSeconds", emitsZero: true),
                .int64(5, "activeDeadlineSeconds", emitsZero: true), .string(6, "dnsPolicy"),
                .map(7, "nodeSelector", of: .string), .string(8, "serviceAccountName"),
                .string(9, "serviceAccount"), .bool(21, "automountServiceAccountToken", emitsZero: true),
                .string(10, "nodeName"), .bool(11, "hostNetwork"), .bool(12, "hostPID"), .bool(13, "hostIPC"),
                .bool(27, "shareProcessNamespace", emitsZero: true),
                .messages(15, "imagePullSecrets", coreV1 + "LocalObjectReference"), .string(16, "hostname"),
                .string(17, "subdomain"), .string(19, "schedulerName"),
                .messages(22, "tolerations", coreV1 + "Toleration"), .string(24, "priorityClassName"),
                .int32(25, "priority", emitsZero: true), .string(29, "runtimeClassName", emitsZero: true),
                .bool(30, "enableServiceLinks", emitsZero: true), .string(31, "preemptionPolicy", emitsZero: true),
                .bool(35, "setHostnameAsFQDN", emitsZero: true), .bool(37, "hostUsers", emitsZero: true),
            ]),
        Message(
            coreV1 + "Container",
            [
                .string(1, "name", emitsZero: true), .string(2, "image"), .strings(3, "command"),
                .strings(4, "args"), .string(5, "workingDir"), .messages(6, "ports", coreV1 + "ContainerPort"),
                .messages(19, "envFrom", coreV1 + "EnvFromSource"), .messages(7, "env", coreV1 + "EnvVar"),
                .message(8, "resources", coreV1 + "ResourceRequirements"),
                .messages(23, "resizePolicy", coreV1 + "ContainerResizePolicy"),
                .string(24, "restartPolicy", emitsZero: true),
                .messages(9, "volumeMounts", coreV1 + "VolumeMount"), .string(13, "terminationMessagePath"),
                .string(20, "terminationMessagePolicy"), .string(14, "imagePullPolicy"), .bool(16, "stdin"),
                .bool(17, "stdinOnce"), .bool(18, "tty"),
            ]),
        Message(
            coreV1 + "ContainerPort",
            [
                .string(1, "name"), .int32(2, "hostPort"), .int32(3, "containerPort", emitsZero: true),
                .string(4, "protocol"), .string(5, "hostIP"),
            ]),
        Message(
            coreV1 + "ContainerResizePolicy",
            [.string(1, "resourceName", emitsZero: true), .string(2, "restartPolicy", emitsZero: true)]),
        Message(
            coreV1 + "EnvFromSource",
            [
                .string(1, "prefix"), .message(2, "configMapRef", coreV1 + "ConfigMapEnvSource"),
                .message(3, "secretRef", coreV1 + "SecretEnvSource"),
            ]),
        Message(
            coreV1 + "ConfigMapEnvSource",
            [.inline(1, coreV1 + "LocalObjectReference"), .bool(2, "optional", emitsZero: true)]),
        Message(
            coreV1 + "SecretEnvSource",
            [.inline(1, coreV1 + "LocalObjectReference"), .bool(2, "optional", emitsZero: true)]),
        Message(
            coreV1 + "EnvVar",
            [
                .string(1, "name", emitsZero: true), .string(2, "value"),
                .message(3, "valueFrom", coreV1 + "EnvVarSource"),
            ]),
        Message(
            coreV1 + "EnvVarSource",
            [
                .message(1, "fieldRef", coreV1 + "ObjectFieldSelector"),
                .message(2, "resourceFieldRef", coreV1 + "ResourceFieldSelector"),
                .message(3, "configMapKeyRef", coreV1 + "ConfigMapKeySelector"),
                .message(4, "secretKeyRef", coreV1 + "SecretKeySelector"),
            ]),
        Message(coreV1 + "ObjectFieldSelector", [.string(1, "apiVersion"), .string(2, "fieldPath", emitsZero: true)]),
        Message(
            coreV1 + "ResourceFieldSelector",
            [.string(1, "containerName"), .string(2, "resource", emitsZero: true), .quantity(3, "divisor")]),
        Message(
            coreV1 + "ConfigMapKeySelector",
            [
                .inline(1, coreV1 + "LocalObjectReference"), .string(2, "key", emitsZero: true),
                .bool(3, "optional", emitsZero: true),
            ]),
        Message(
            coreV1 + "SecretKeySelector",
            [
                .inline(1, coreV1 + "LocalObjectReference"), .string(2, "key", emitsZero: true),
                .bool(3, "optional", emitsZero: true),
            ]),
        Message(coreV1 + "LocalObjectReference", [.string(1, "name")]),
        Message(
            coreV1 + "TypedLocalObjectReference",
            [
                .string(1, "apiGroup", emitsZero: true), .string(2, "kind", emitsZero: true),
                .string(3, "name", emitsZero: true),
            ]),
        Message(
            coreV1 + "ResourceRequirements",
            [
                .map(1, "limits", of: .quantity), .map(2, "requests", of: .quantity),
                .messages(3, "claims", coreV1 + "ResourceClaim"),
            ]),
        Message(coreV1 + "ResourceClaim", [.string(1, "name", emitsZero: true), .string(2, "request")]),
        Message(
            coreV1 + "VolumeMount",
            [
                .string(1, "name", emitsZero: true), .bool(2, "readOnly"),
                .string(7, "recursiveReadOnly", emitsZero: true), .string(3, "mountPath", emitsZero: true),
                .string(4, "subPath"), .string(5, "mountPropagation", emitsZero: true), .string(6, "subPathExpr"),
            ]),
        Message(
            coreV1 + "Toleration",
            [
                .string(1, "key"), .string(2, "operator"), .string(3, "value"), .string(4, "effect"),
                .int64(5, "tolerationSeconds", emitsZero: true),
            ]),
    ]

    private static let workloads: [Message] = [
        Message(
            appsV1 + "Deployment",
            [
                .message(1, "metadata", metaV1 + "ObjectMeta"), .message(2, "spec", appsV1 + "DeploymentSpec"),
                .message(3, "status", appsV1 + "DeploymentStatus"),
            ]),
        Message(
            appsV1 + "DeploymentSpec",
            [
                .int32(1, "replicas", emitsZero: true), .message(2, "selector", metaV1 + "LabelSelector"),
                .message(3, "template", coreV1 + "PodTemplateSpec"),
                .message(4, "strategy", appsV1 + "DeploymentStrategy"), .int32(5, "minReadySeconds"),
                .int32(6, "revisionHistoryLimit", emitsZero: true), .bool(7, "paused"),
                .int32(9, "progressDeadlineSeconds", emitsZero: true),
            ]),
        Message(
            appsV1 + "DeploymentStrategy",
            [.string(1, "type"), .message(2, "rollingUpdate", appsV1 + "RollingUpdateDeployment")]),
        Message(
            appsV1 + "RollingUpdateDeployment", [.intOrString(1, "maxUnavailable"), .intOrString(2, "maxSurge")]),
        Message(
            appsV1 + "DeploymentStatus",
            [
                .int64(1, "observedGeneration"), .int32(2, "replicas"), .int32(3, "updatedReplicas"),
                .int32(7, "readyReplicas"), .int32(4, "availableReplicas"), .int32(5, "unavailableReplicas"),
                .messages(6, "conditions", appsV1 + "DeploymentCondition"),
                .int32(8, "collisionCount", emitsZero: true),
            ]),
        Message(
            appsV1 + "DeploymentCondition",
            [
                .string(1, "type", emitsZero: true), .string(2, "status", emitsZero: true),
                .time(6, "lastUpdateTime"), .time(7, "lastTransitionTime"), .string(4, "reason"),
                .string(5, "message"),
            ]),
    ]

    private static let networking: [Message] = [
        Message(
            networkingV1 + "Ingress",
            [
                .message(1, "metadata", metaV1 + "ObjectMeta"), .message(2, "spec", networkingV1 + "IngressSpec"),
                .message(3, "status", networkingV1 + "IngressStatus"),
            ]),
        Message(
            networkingV1 + "IngressSpec",
            [
                .string(4, "ingressClassName", emitsZero: true),
                .message(1, "defaultBackend", networkingV1 + "IngressBackend"),
                .messages(2, "tls", networkingV1 + "IngressTLS"), .messages(3, "rules", networkingV1 + "IngressRule"),
            ]),
        Message(
            networkingV1 + "IngressBackend",
            [
                .message(4, "service", networkingV1 + "IngressServiceBackend"),
                .message(3, "resource", coreV1 + "TypedLocalObjectReference"),
            ]),
        Message(
            networkingV1 + "IngressServiceBackend",
            [.string(1, "name", emitsZero: true), .message(2, "port", networkingV1 + "ServiceBackendPort")]),
        Message(networkingV1 + "ServiceBackendPort", [.string(1, "name"), .int32(2, "number")]),
        Message(networkingV1 + "IngressTLS", [.strings(1, "hosts"), .string(2, "secretName")]),
        Message(networkingV1 + "IngressRule", [.string(1, "host"), .inline(2, networkingV1 + "IngressRuleValue")]),
        Message(networkingV1 + "IngressRuleValue", [.message(1, "http", networkingV1 + "HTTPIngressRuleValue")]),
        Message(networkingV1 + "HTTPIngressRuleValue", [.messages(1, "paths", networkingV1 + "HTTPIngressPath")]),
        Message(
            networkingV1 + "HTTPIngressPath",
            [
                .string(1, "path"), .string(3, "pathType", emitsZero: true),
                .message(2, "backend", networkingV1 + "IngressBackend"),
            ]),
        Message(
            networkingV1 + "IngressStatus",
            [.message(1, "loadBalancer", networkingV1 + "IngressLoadBalancerStatus")]),
        Message(
            networkingV1 + "IngressLoadBalancerStatus",
            [.messages(1, "ingress", networkingV1 + "IngressLoadBalancerIngress")]),
        Message(
            networkingV1 + "IngressLoadBalancerIngress",
            [.string(1, "ip"), .string(2, "hostname"), .messages(4, "ports", networkingV1 + "IngressPortStatus")]),
        Message(
            networkingV1 + "IngressPortStatus",
            [
                .int32(1, "port", emitsZero: true), .string(2, "protocol", emitsZero: true),
                .string(3, "error", emitsZero: true),
            ]),
    ]
}
