import Testing

/// A request body kubectl sent (captured with `kubectl -v=10`, which dumps it in hex) and the object
/// `kubectl … --dry-run=client -o json` prints for the same command: decoding the one must give the other.
struct ProtobufFixture: Sendable, CustomTestStringConvertible {
    var name: String
    var hex: String
    var json: String

    var testDescription: String { name }

    var bytes: [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)!
        }
    }

    /// Captured from kubectl v1.32.4.
    static let all: [ProtobufFixture] = [
        ProtobufFixture(
            name: "namespace",
            // kubectl create namespace foo
            hex: """
                6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a0032003800420012001a02
                0a001a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "kind": "Namespace",
                  "metadata": {
                    "creationTimestamp": null,
                    "name": "foo"
                  },
                  "spec": {},
                  "status": {}
                }
                """),
        ProtobufFixture(
            name: "configMap",
            // kubectl create configmap c --from-literal=a=b --from-literal=hello=world
            hex: """
                6b3873000a0f0a0276311209436f6e6669674d6170122b0a110a016312001a0022002a0032003800420012060a016112
                0162120e0a0568656c6c6f1205776f726c641a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "data": {
                    "a": "b",
                    "hello": "world"
                  },
                  "kind": "ConfigMap",
                  "metadata": {
                    "creationTimestamp": null,
                    "name": "c"
                  }
                }
                """),
        ProtobufFixture(
            name: "configMapBinary",
            // kubectl create configmap cb --from-file=bin.dat --from-literal=x=y (bin.dat: 00 01 ff)
            hex: """
                6b3873000a0f0a0276311209436f6e6669674d6170122c0a120a02636212001a0022002a0032003800420012060a0178
                1201791a0e0a0762696e2e64617412030001ff1a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "binaryData": {
                    "bin.dat": "AAH/"
                  },
                  "data": {
                    "x": "y"
                  },
                  "kind": "ConfigMap",
                  "metadata": {
                    "creationTimestamp": null,
                    "name": "cb"
                  }
                }
                """),
        ProtobufFixture(
            name: "secret",
            // kubectl create secret generic s --from-literal=a=b '--from-literal=pw=p@ss w0rd'
            hex: """
                6b3873000a0c0a0276311206536563726574122e0a110a017312001a0022002a0032003800420012060a016112016212
                0f0a02707712097040737320773072641a001a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "data": {
                    "a": "Yg==",
                    "pw": "cEBzcyB3MHJk"
                  },
                  "kind": "Secret",
                  "metadata": {
                    "creationTimestamp": null,
                    "name": "s"
                  }
                }
                """),
        ProtobufFixture(
            name: "secretBasicAuth",
            // kubectl create secret generic st --type=kubernetes.io/basic-auth --from-literal=username=u
            //     --from-literal=password=p
            hex: """
                6b3873000a0c0a0276311206536563726574124c0a120a02737412001a0022002a00320038004200120d0a0870617373
                776f7264120170120d0a08757365726e616d651201751a186b756265726e657465732e696f2f62617369632d61757468
                1a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "data": {
                    "password": "cA==",
                    "username": "dQ=="
                  },
                  "kind": "Secret",
                  "metadata": {
                    "creationTimestamp": null,
                    "name": "st"
                  },
                  "type": "kubernetes.io/basic-auth"
                }
                """),
        ProtobufFixture(
            name: "deployment",
            // kubectl create deployment web --image=nginx --replicas=3 --port=80
            hex: """
                6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b8010a1f0a0377656212001a0022002a00320038
                0042005a0a0a0361707012037765621286010803120c0a0a0a0361707012037765621a6c0a1c0a0012001a0022002a00
                3200380042005a0a0a036170701203776562124c122e0a056e67696e7812056e67696e782a00320a0a00100018502200
                2a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c20100
                22020a00280038001a0c0800100018002000280038001a002200
                """,
            json: """
                {
                  "apiVersion": "apps/v1",
                  "kind": "Deployment",
                  "metadata": {
                    "creationTimestamp": null,
                    "labels": {
                      "app": "web"
                    },
                    "name": "web"
                  },
                  "spec": {
                    "replicas": 3,
                    "selector": {
                      "matchLabels": {
                        "app": "web"
                      }
                    },
                    "strategy": {},
                    "template": {
                      "metadata": {
                        "creationTimestamp": null,
                        "labels": {
                          "app": "web"
                        }
                      },
                      "spec": {
                        "containers": [
                          {
                            "image": "nginx",
                            "name": "nginx",
                            "ports": [
                              {
                                "containerPort": 80
                              }
                            ],
                            "resources": {}
                          }
                        ]
                      }
                    }
                  },
                  "status": {}
                }
                """),
        ProtobufFixture(
            name: "deploymentCommand",
            // kubectl create deployment web2 --image=busybox -- sleep 3600
            hex: """
                6b3873000a150a07617070732f7631120a4465706c6f796d656e7412c1010a210a047765623212001a0022002a003200
                380042005a0b0a03617070120477656232128d010801120d0a0b0a036170701204776562321a720a1d0a0012001a0022
                002a003200380042005a0b0a03617070120477656232125112330a0762757379626f78120762757379626f781a05736c
                6565701a04333630302a0042006a007200800100880100900100a201001a00320042004a005200580060006800820100
                8a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200
                """,
            json: """
                {
                  "apiVersion": "apps/v1",
                  "kind": "Deployment",
                  "metadata": {
                    "creationTimestamp": null,
                    "labels": {
                      "app": "web2"
                    },
                    "name": "web2"
                  },
                  "spec": {
                    "replicas": 1,
                    "selector": {
                      "matchLabels": {
                        "app": "web2"
                      }
                    },
                    "strategy": {},
                    "template": {
                      "metadata": {
                        "creationTimestamp": null,
                        "labels": {
                          "app": "web2"
                        }
                      },
                      "spec": {
                        "containers": [
                          {
                            "command": [
                              "sleep",
                              "3600"
                            ],
                            "image": "busybox",
                            "name": "busybox",
                            "resources": {}
                          }
                        ]
                      }
                    }
                  },
                  "status": {}
                }
                """),
        ProtobufFixture(
            name: "serviceClusterIP",
            // kubectl create service clusterip web --tcp=80:8080
            hex: """
                6b3873000a0d0a02763112075365727669636512690a1f0a0377656212001a0022002a003200380042005a0a0a036170
                70120377656212420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a0361707012037765
                621a002209436c757374657249503a00420052005a00600068001a020a001a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "kind": "Service",
                  "metadata": {
                    "creationTimestamp": null,
                    "labels": {
                      "app": "web"
                    },
                    "name": "web"
                  },
                  "spec": {
                    "ports": [
                      {
                        "name": "80-8080",
                        "port": 80,
                        "protocol": "TCP",
                        "targetPort": 8080
                      }
                    ],
                    "selector": {
                      "app": "web"
                    },
                    "type": "ClusterIP"
                  },
                  "status": {
                    "loadBalancer": {}
                  }
                }
                """),
        ProtobufFixture(
            name: "serviceNodePort",
            // kubectl create service nodeport np --tcp=80:8080 --node-port=30080
            hex: """
                6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022002a003200380042005a090a03617070
                12026e7012420a1d0a0738302d38303830120354435018502207080010903f1a002880eb0112090a0361707012026e70
                1a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "kind": "Service",
                  "metadata": {
                    "creationTimestamp": null,
                    "labels": {
                      "app": "np"
                    },
                    "name": "np"
                  },
                  "spec": {
                    "ports": [
                      {
                        "name": "80-8080",
                        "nodePort": 30080,
                        "port": 80,
                        "protocol": "TCP",
                        "targetPort": 8080
                      }
                    ],
                    "selector": {
                      "app": "np"
                    },
                    "type": "NodePort"
                  },
                  "status": {
                    "loadBalancer": {}
                  }
                }
                """),
        ProtobufFixture(
            name: "serviceExternalName",
            // kubectl create service externalname en --external-name=example.com
            hex: """
                6b3873000a0d0a02763112075365727669636512570a1d0a02656e12001a0022002a003200380042005a090a03617070
                1202656e123212090a036170701202656e1a00220c45787465726e616c4e616d653a004200520b6578616d706c652e63
                6f6d5a00600068001a020a001a002200
                """,
            json: """
                {
                  "apiVersion": "v1",
                  "kind": "Service",
                  "metadata": {
                    "creationTimestamp": null,
                    "labels": {
                      "app": "en"
                    },
                    "name": "en"
                  },
                  "spec": {
                    "externalName": "example.com",
                    "selector": {
                      "app": "en"
                    },
                    "type": "ExternalName"
                  },
                  "status": {
                    "loadBalancer": {}
                  }
                }
                """),
        ProtobufFixture(
            name: "ingress",
            // kubectl create ingress ing --rule=foo.com/*=svc1:http,tls=my-cert --default-backend=defsvc:80
            //     --annotation=a=b --class=nginx
            hex: """
                6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e67726573731280010a1b0a03696e6712
                001a0022002a0032003800420062060a0161120162125d0a10220e0a0664656673766312040a00105012120a07666f6f
                2e636f6d12076d792d636572741a2e0a07666f6f2e636f6d12230a210a1f0a012f121222100a047376633112080a0468
                74747010001a0650726566697822056e67696e781a020a001a002200
                """,
            json: """
                {
                  "apiVersion": "networking.k8s.io/v1",
                  "kind": "Ingress",
                  "metadata": {
                    "annotations": {
                      "a": "b"
                    },
                    "creationTimestamp": null,
                    "name": "ing"
                  },
                  "spec": {
                    "defaultBackend": {
                      "service": {
                        "name": "defsvc",
                        "port": {
                          "number": 80
                        }
                      }
                    },
                    "ingressClassName": "nginx",
                    "rules": [
                      {
                        "host": "foo.com",
                        "http": {
                          "paths": [
                            {
                              "backend": {
                                "service": {
                                  "name": "svc1",
                                  "port": {
                                    "name": "http"
                                  }
                                }
                              },
                              "path": "/",
                              "pathType": "Prefix"
                            }
                          ]
                        }
                      }
                    ],
                    "tls": [
                      {
                        "hosts": [
                          "foo.com"
                        ],
                        "secretName": "my-cert"
                      }
                    ]
                  },
                  "status": {
                    "loadBalancer": {}
                  }
                }
                """),
    ]
}
