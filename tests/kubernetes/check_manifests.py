"""Cross-checks of examples/kubernetes that schema validation cannot make.

Selectors must match the pod labels, every port a Service, probe or
NetworkPolicy names must exist on the container, references must resolve,
the hardening the operations guide promises must be present, the session
key must come from a Secret that holds it, and the
ConfigMap's warden.toml must agree with the pod (ports, drain deadline).
Usage: check_manifests.py DIR. Prints each problem; exits 1 if any.
"""

import pathlib
import sys
import tomllib

import yaml

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def matches(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


def main(folder):
    objects = {}
    for path in sorted(pathlib.Path(folder).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objects.setdefault(doc["kind"], []).append(doc)

    [deployment] = objects["Deployment"]
    template = deployment["spec"]["template"]
    pod_labels = template["metadata"]["labels"]
    pod = template["spec"]
    [container] = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    def port_exists(port, where):
        known = port in ports or port in ports.values()
        check(known, f"{where}: port {port!r} is not a container port {ports}")

    check(
        matches(deployment["spec"]["selector"]["matchLabels"], pod_labels),
        "Deployment selector does not match its pod labels",
    )
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(kind)
        check(probe is not None, f"container has no {kind}")
        if probe:
            port_exists(probe["httpGet"]["port"], kind)

    for service in objects["Service"]:
        check(
            matches(service["spec"]["selector"], pod_labels),
            "Service selector does not match the pod labels",
        )
        for port in service["spec"]["ports"]:
            port_exists(port["targetPort"], f"Service port {port['name']}")

    for pdb in objects["PodDisruptionBudget"]:
        check(
            matches(pdb["spec"]["selector"]["matchLabels"], pod_labels),
            "PodDisruptionBudget selector does not match the pod labels",
        )
        check(
            pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"],
            "PodDisruptionBudget would block every voluntary eviction",
        )

    for hpa in objects["HorizontalPodAutoscaler"]:
        target = hpa["spec"]["scaleTargetRef"]
        check(
            (target["kind"], target["name"])
            == ("Deployment", deployment["metadata"]["name"]),
            "HorizontalPodAutoscaler does not target the Deployment",
        )

    for policy in objects["NetworkPolicy"]:
        check(
            matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels),
            "NetworkPolicy does not select the pods",
        )
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                port_exists(port["port"], "NetworkPolicy ingress")

    accounts = {a["metadata"]["name"]: a for a in objects["ServiceAccount"]}
    account = accounts.get(pod.get("serviceAccountName"))
    check(account is not None, "the pod's ServiceAccount is not defined")
    check(
        pod.get("automountServiceAccountToken") is False
        and account is not None
        and account.get("automountServiceAccountToken") is False,
        "the service account token is mounted",
    )

    security = pod.get("securityContext", {})
    check(security.get("runAsNonRoot") is True, "pod may run as root")
    check(security.get("runAsUser", 0) != 0, "pod runs as UID 0")
    check(
        security.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        "pod lacks the RuntimeDefault seccomp profile",
    )
    init_containers = pod.get("initContainers", [])
    for each in [container, *init_containers]:
        name = each["name"]
        own = each.get("securityContext", {})
        check(own.get("readOnlyRootFilesystem") is True, f"{name}: root filesystem is writable")
        check(own.get("allowPrivilegeEscalation") is False, f"{name}: privilege escalation allowed")
        check(own.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities not dropped")
        for kind in ("requests", "limits"):
            check(
                {"cpu", "memory"} <= set(each.get("resources", {}).get(kind, {})),
                f"{name}: container lacks cpu and memory {kind}",
            )

    # The init container pre-pulls into the cache Warden reads: the same
    # image, config and cache volume at the same paths.
    pulls = [c for c in init_containers if c.get("args", [])[:1] == ["pull"]]
    check(len(pulls) == 1, "no init container runs `warden pull`")
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    for pull in pulls:
        check(pull["image"] == container["image"], "the pull init container runs another image")
        check(pull["args"][1:] == container["args"][1:], "the pull init container reads another config")
        own_mounts = {m["name"]: m["mountPath"] for m in pull.get("volumeMounts", [])}
        check(own_mounts == mounts, f"the pull init container mounts {own_mounts}, Warden {mounts}")

    secrets = {s["metadata"]["name"]: s for s in objects.get("Secret", [])}
    env = {e["name"]: e for e in container.get("env", [])}
    for name, entry in env.items():
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            continue
        secret = secrets.get(ref["name"])
        check(secret is not None, f"env {name}: Secret {ref['name']} is not defined")
        if secret is not None:
            keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
            check(ref["key"] in keys, f"env {name}: Secret {ref['name']} has no key {ref['key']}")
    check(
        "secretKeyRef" in env.get("WARDEN_SESSION_KEY", {}).get("valueFrom", {}),
        "replicas do not share a session key from a Secret (WARDEN_SESSION_KEY)",
    )
    for service in objects["Service"]:
        check(
            "sessionAffinity" not in service["spec"]
            or service["spec"]["sessionAffinity"] == "None",
            "Service pins clients to pods, which sealed sessions make needless",
        )

    maps = {m["metadata"]["name"]: m for m in objects["ConfigMap"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_path = None
    for volume in pod["volumes"]:
        check(volume["name"] in mounts, f"volume {volume['name']} is not mounted")
        if "configMap" in volume:
            name = volume["configMap"]["name"]
            check(name in maps, f"ConfigMap {name} is not defined")
            if name in maps:
                config_path = (mounts.get(volume["name"]), maps[name])

    args = container.get("args", [])
    check("--config" in args, "warden is not given --config")
    if config_path and "--config" in args:
        mount, config_map = config_path
        wanted = args[args.index("--config") + 1]
        file_name = wanted.removeprefix(mount + "/")
        check(file_name in config_map["data"], f"{wanted} is not in the ConfigMap")
        if file_name in config_map["data"]:
            config = tomllib.loads(config_map["data"][file_name])
            server = config.get("server", {})
            for key, port_name in (("listen", "mcp"), ("metrics_listen", "metrics")):
                port = int(server.get(key, ":0").rsplit(":", 1)[1])
                check(
                    ports.get(port_name) == port,
                    f"server.{key} port {port} is not the {port_name} container port",
                )
            drain = server.get("drain_timeout_secs", 25)
            check(
                drain < pod.get("terminationGracePeriodSeconds", 30),
                "drain_timeout_secs is not below terminationGracePeriodSeconds",
            )
            baked = pathlib.Path(folder) / ".." / "container" / "warden.toml"
            baked_text = "".join(
                line
                for line in baked.read_text().splitlines(keepends=True)[2:]
            )
            check(
                baked_text == config_map["data"][file_name],
                "the ConfigMap's warden.toml differs from examples/container/warden.toml",
            )
            keys_file = config.get("auth", {}).get("api_keys_file")
            check(keys_file is not None, "the pods serve without [auth] api_keys_file")
            if keys_file is not None:
                folder_of_keys, _, file = keys_file.rpartition("/")
                volume = next(
                    (v for v in pod["volumes"] if mounts.get(v["name"]) == folder_of_keys),
                    None,
                )
                source = (volume or {}).get("secret")
                check(source is not None, f"{keys_file} is not on a mounted Secret volume")
                if source is not None:
                    paths = {item["path"]: item["key"] for item in source.get("items", [])}
                    secret = secrets.get(source["secretName"], {})
                    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
                    check(
                        paths.get(file) in keys,
                        f"{keys_file} is not a key of Secret {source['secretName']}",
                    )
            cache = server.get("cache_dir")
            check(
                cache is not None and cache in mounts.values(),
                "server.cache_dir is not on a mounted volume (the root is read-only)",
            )

    for problem in problems:
        print(f"problem: {problem}")
    print(f"{len(problems)} problems in {folder}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
