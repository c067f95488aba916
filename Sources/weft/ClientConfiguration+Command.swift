import Foundation
import KubeClient

extension ClientConfiguration {
    /// How `weft agent` and `weft dns` reach the API: `--kubeconfig` when given, else the pod's service account
    /// when running in a pod, else `$KUBECONFIG` or `~/.kube/config`.
    static func forCommand(kubeconfig: String?) throws -> ClientConfiguration {
        if let kubeconfig { return try KubeConfig.load(path: kubeconfig).clientConfiguration() }
        if let host = getenv("KUBERNETES_SERVICE_HOST"), host.pointee != 0 {
            return try ClientConfiguration.inCluster()
        }
        return try KubeConfig.load().clientConfiguration()
    }
}
