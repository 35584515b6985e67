"""Cross-checks of examples/kubernetes that schema validation cannot make.

Selectors must match the pod labels, every port a Service, probe or
NetworkPolicy names must exist on the container, references must resolve,
the hardening the operations guide promises must be present, the session
key must come from a Secret that holds it, and the
ConfigMap's warden.toml must agree with the pod (ports, drain deadline).
The optional Redis in DIR/redis is checked the same way, and against
Warden: its selectors pick its pod and not Warden's, only Warden may reach
it and Warden may, it reads its password from the Secret key Warden reads
(which Warden's pods must not need), and the [cluster] table the ConfigMap's
comment offers names its Service, port and password file.
Usage: check_manifests.py DIR. Prints each problem; exits 1 if any.
"""

import pathlib
import re
import sys
import tomllib
import urllib.parse

import yaml

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def matches(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


def load(folder):
    objects = {}
    for path in sorted(pathlib.Path(folder).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objects.setdefault(doc["kind"], []).append(doc)
    return objects


def secret_keys(secret):
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def volume_files(volume, secrets):
    """File name -> (Secret, key, optional) of a secret or projected volume."""
    sources = []
    if "secret" in volume:
        own = volume["secret"]
        sources.append((own["secretName"], own))
    for source in volume.get("projected", {}).get("sources", []):
        if "secret" in source:
            sources.append((source["secret"]["name"], source["secret"]))
    files = {}
    for name, source in sources:
        optional = source.get("optional", False)
        items = source.get("items")
        if items is None:
            items = [{"key": k, "path": k} for k in secret_keys(secrets.get(name, {}))]
        for item in items:
            files[item["path"]] = (name, item["key"], optional)
    return files


def check_secret_refs(container, secrets, where):
    """Every Secret key the container's environment reads exists."""
    env = {e["name"]: e for e in container.get("env", [])}
    for name, entry in env.items():
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            continue
        secret = secrets.get(ref["name"])
        check(secret is not None, f"{where}: env {name}: Secret {ref['name']} is not defined")
        if secret is not None:
            check(
                ref["key"] in secret_keys(secret),
                f"{where}: env {name}: Secret {ref['name']} has no key {ref['key']}",
            )
    return env


def check_hardened(pod, containers, accounts, what):
    """The hardening docs/operations.md promises, for one pod."""
    account = accounts.get(pod.get("serviceAccountName"))
    check(account is not None, f"{what}: the pod's ServiceAccount is not defined")
    check(
        pod.get("automountServiceAccountToken") is False
        and account is not None
        and account.get("automountServiceAccountToken") is False,
        f"{what}: the service account token is mounted",
    )
    security = pod.get("securityContext", {})
    check(security.get("runAsNonRoot") is True, f"{what}: pod may run as root")
    check(security.get("runAsUser", 0) != 0, f"{what}: pod runs as UID 0")
    check(
        security.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        f"{what}: pod lacks the RuntimeDefault seccomp profile",
    )
    for each in containers:
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


def main(folder):
    objects = load(folder)

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
    init_containers = pod.get("initContainers", [])
    check_hardened(pod, [container, *init_containers], accounts, "warden")

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
    env = check_secret_refs(container, secrets, "warden")
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

    # Secret files on Warden's volumes: mount folder -> file -> (Secret, key, optional).
    secret_files = {}
    for volume in pod["volumes"]:
        files = volume_files(volume, secrets)
        if files and volume["name"] in mounts:
            secret_files[mounts[volume["name"]]] = files
        for file, (name, key, optional) in files.items():
            check(
                optional or key in secret_keys(secrets.get(name, {})),
                f"volume {volume['name']}: {file} is key {key} of Secret {name}, which it lacks",
            )

    maps = {m["metadata"]["name"]: m for m in objects["ConfigMap"]}
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
                source = secret_files.get(folder_of_keys, {}).get(file)
                check(source is not None, f"{keys_file} is not on a mounted Secret volume")
                if source is not None:
                    name, key, optional = source
                    check(
                        key in secret_keys(secrets.get(name, {})) and not optional,
                        f"{keys_file} is not a key of Secret {name} the pod needs",
                    )
            cache = server.get("cache_dir")
            check(
                cache is not None and cache in mounts.values(),
                "server.cache_dir is not on a mounted volume (the root is read-only)",
            )

    redis_folder = pathlib.Path(folder) / "redis"
    check(redis_folder.is_dir(), f"{redis_folder} (the optional Redis) is missing")
    if redis_folder.is_dir():
        check_redis(
            load(redis_folder),
            warden=objects,
            pod_labels=pod_labels,
            secrets=secrets,
            secret_files=secret_files,
            configmap_text=(pathlib.Path(folder) / "configmap.yaml").read_text(),
        )

    for problem in problems:
        print(f"problem: {problem}")
    print(f"{len(problems)} problems in {folder}")
    return 1 if problems else 0


def commented_cluster(configmap_text):
    """The [cluster] table the ConfigMap's leading comment offers, parsed."""
    match = re.search(r"^#   \[cluster\]\n(?:#   .*\n)+", configmap_text, re.MULTILINE)
    if match is None:
        return None
    toml = "".join(line[4:] + "\n" for line in match.group(0).splitlines())
    return tomllib.loads(toml).get("cluster")


def check_redis(objects, warden, pod_labels, secrets, secret_files, configmap_text):
    [deployment] = objects.get("Deployment", [None])
    if deployment is None:
        check(False, "redis: no Deployment")
        return
    template = deployment["spec"]["template"]
    labels = template["metadata"]["labels"]
    pod = template["spec"]
    [container] = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    def port_of(port, where):
        number = ports.get(port, port)
        check(number in ports.values(), f"redis: {where}: port {port!r} is not a container port {ports}")
        return number

    check(
        matches(deployment["spec"]["selector"]["matchLabels"], labels),
        "redis: Deployment selector does not match its pod labels",
    )
    check(deployment["spec"].get("replicas") == 1, "redis: more than one replica, each counting alone")
    check(
        deployment["spec"].get("strategy", {}).get("type") == "Recreate",
        "redis: a rollout would run two Redis at once (strategy is not Recreate)",
    )

    # Neither application's selectors pick the other's pods.
    redis_selectors = [("Deployment", deployment["spec"]["selector"]["matchLabels"])]
    redis_selectors += [("Service", s["spec"]["selector"]) for s in objects.get("Service", [])]
    redis_selectors += [
        ("NetworkPolicy", p["spec"]["podSelector"]["matchLabels"])
        for p in objects.get("NetworkPolicy", [])
    ]
    for kind, selector in redis_selectors:
        check(not matches(selector, pod_labels), f"redis: its {kind} selector picks Warden's pods")
    warden_selectors = [("Deployment", d["spec"]["selector"]["matchLabels"]) for d in warden["Deployment"]]
    warden_selectors += [("Service", s["spec"]["selector"]) for s in warden["Service"]]
    warden_selectors += [
        ("PodDisruptionBudget", p["spec"]["selector"]["matchLabels"])
        for p in warden.get("PodDisruptionBudget", [])
    ]
    warden_selectors += [
        ("NetworkPolicy", p["spec"]["podSelector"]["matchLabels"])
        for p in warden["NetworkPolicy"]
    ]
    for kind, selector in warden_selectors:
        check(not matches(selector, labels), f"Warden's {kind} selector picks the Redis pod")

    accounts = {a["metadata"]["name"]: a for a in objects.get("ServiceAccount", [])}
    check_hardened(pod, [container, *pod.get("initContainers", [])], accounts, "redis")

    image = container["image"]
    tag = image.rpartition("/")[2].partition(":")[2]
    check(
        "@sha256:" in image or (tag and tag != "latest"),
        f"redis: image {image} is not pinned by tag or digest",
    )
    for kind in ("readinessProbe", "livenessProbe"):
        probe = container.get(kind)
        check(probe is not None, f"redis: container has no {kind}")
        for handler in ("tcpSocket", "httpGet"):
            if probe and handler in probe:
                port_of(probe[handler]["port"], kind)

    # redis-server's options: a password from a Secret, bounded memory that
    # never evicts, data on a mounted volume.
    args = [*container.get("command", []), *container.get("args", [])]
    options = {}
    for index, arg in enumerate(args):
        if arg.startswith("--") and index + 1 < len(args):
            options[arg[2:]] = args[index + 1]
    check("redis-server" in args, "redis: the container does not run redis-server")
    check("maxmemory" in options, "redis: no --maxmemory")
    check(options.get("maxmemory-policy") == "noeviction", "redis: --maxmemory-policy is not noeviction")
    if "port" in options:
        check(int(options["port"]) in ports.values(), "redis: --port is not a container port")
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    check(options.get("dir", "/data") in mounts, "redis: its --dir is not a mounted volume")
    env = check_secret_refs(container, secrets, "redis")
    password = options.get("requirepass", "")
    variable = re.fullmatch(r"\$\((\w+)\)", password)
    ref = env.get(variable.group(1), {}).get("valueFrom", {}).get("secretKeyRef") if variable else None
    check(ref is not None, "redis: --requirepass is not $(VARIABLE) of a Secret key")
    password_key = f"{ref['name']}/{ref['key']}" if ref else None

    [service] = objects.get("Service", [None]) or [None]
    check(service is not None, "redis: no Service")
    service_port = None
    if service is not None:
        check(
            matches(service["spec"]["selector"], labels),
            "redis: Service selector does not match the Redis pod labels",
        )
        [port] = service["spec"]["ports"]
        port_of(port["targetPort"], "Service")
        service_port = port["port"]

    for policy in objects.get("NetworkPolicy", []):
        spec = policy["spec"]
        check(
            matches(spec["podSelector"]["matchLabels"], labels),
            "redis: NetworkPolicy does not select the Redis pod",
        )
        check(
            {"Ingress", "Egress"} <= set(spec.get("policyTypes", [])) and not spec.get("egress"),
            "redis: NetworkPolicy lets the Redis pod out",
        )
        for rule in spec.get("ingress", []):
            peers = rule.get("from", [])
            check(
                peers
                and all(
                    set(peer) == {"podSelector"}
                    and matches(peer["podSelector"].get("matchLabels", {}), pod_labels)
                    for peer in peers
                ),
                "redis: NetworkPolicy admits others than Warden's pods",
            )
            check(rule.get("ports"), "redis: NetworkPolicy admits every port")
            for port in rule.get("ports", []):
                port_of(port["port"], "NetworkPolicy ingress")
    check(objects.get("NetworkPolicy"), "redis: no NetworkPolicy")

    # Warden's NetworkPolicy lets its pods out to the Redis port.
    reaches = False
    for policy in warden["NetworkPolicy"]:
        for rule in policy["spec"].get("egress", []):
            to_redis = any(
                set(peer) == {"podSelector"}
                and matches(peer["podSelector"].get("matchLabels", {}), labels)
                for peer in rule.get("to", [])
            )
            to_port = any(
                ports.get(p.get("port"), p.get("port")) in ports.values()
                and p.get("protocol", "TCP") == "TCP"
                for p in rule.get("ports", [])
            )
            reaches = reaches or (to_redis and to_port)
    check(reaches, "Warden's NetworkPolicy has no egress rule to the Redis pod's port")

    # The [cluster] table offered in the ConfigMap's comment.
    try:
        cluster = commented_cluster(configmap_text)
    except tomllib.TOMLDecodeError as error:
        check(False, f"the commented [cluster] in configmap.yaml is not TOML: {error}")
        return
    check(cluster is not None, "configmap.yaml offers no commented [cluster] table")
    if cluster is None:
        return
    url = urllib.parse.urlsplit(cluster.get("redis_url", ""))
    check(url.scheme == "redis", f"[cluster] redis_url {url.geturl()!r} is not redis://")
    if service is not None:
        check(
            url.hostname == service["metadata"]["name"],
            f"[cluster] redis_url names {url.hostname}, not the Service {service['metadata']['name']}",
        )
        check(
            (url.port or 6379) == service_port,
            f"[cluster] redis_url port {url.port or 6379} is not the Service port {service_port}",
        )
    file = re.fullmatch(r"\$\{file:(.+)/([^/]+)\}", cluster.get("password", ""))
    check(file is not None, "[cluster] password is not a ${file:...} reference")
    if file is not None:
        source = secret_files.get(file.group(1), {}).get(file.group(2))
        check(source is not None, f"[cluster] password {file.group(0)} is not on a mounted Secret volume")
        if source is not None:
            name, key, optional = source
            check(
                f"{name}/{key}" == password_key,
                f"[cluster] password is {name}/{key}, Redis's {password_key}",
            )
            check(key in secret_keys(secrets.get(name, {})), f"Secret {name} has no key {key}")
            check(optional, f"Warden's pods need {name}/{key}, which only [cluster] reads")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
