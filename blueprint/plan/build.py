"""Models -> plan objects. Pure: no I/O, no printing; the same inputs give the same plan."""

from __future__ import annotations

import json

from blueprint.models import AgentProfile, Environment
from blueprint.models.types import NAMESPACE_PREFIX, cpu_millicores, format_cpu, format_memory, memory_bytes
from blueprint.plan.least_privilege import Judgement
from blueprint.plan.objects import (
    MANAGED_BY,
    AgentPlan,
    AppliedException,
    Backend,
    EgressRule,
    EnvironmentPlan,
    LimitRangePlan,
    Peer,
    Port,
    ProviderPlan,
    Quota,
    AwsIdentityPlan,
    ConfigMapVolume,
    WorkloadPlan,
    AwsProviderPlan,
    CsiPlan,
    SandboxControllerPlan,
    ProviderPodEgress,
    RbacRule,
    RolePlan,
    SecretObject,
    SecretsPlan,
    VaultIdentityPlan,
)

PSA_LEVEL = "restricted"


def namespace_for(agent: str) -> str:
    return NAMESPACE_PREFIX + agent


def _roles(profile: AgentProfile) -> tuple[RolePlan, ...]:
    own = namespace_for(profile.name)
    by_namespace: dict[str | None, list[RbacRule]] = {}
    for rule in profile.kubernetes.rules:
        target = None if rule.scope == "cluster" else (rule.namespace or own)
        by_namespace.setdefault(target, []).append(
            RbacRule(tuple(rule.api_groups), tuple(rule.resources), tuple(rule.verbs), tuple(rule.resource_names))
        )
    ordered = sorted(by_namespace.items(), key=lambda item: (item[0] is None, item[0] or ""))
    return tuple(RolePlan(namespace_for(profile.name), ns, tuple(rules)) for ns, rules in ordered)


def _dns_rule(env: Environment) -> EgressRule:
    dns = env.cluster.dns
    peers = [Peer(namespace_labels=(("kubernetes.io/metadata.name", dns.namespace),),
                  pod_labels=tuple(sorted(dns.pod_labels.items())))]
    if dns.node_local_address:
        suffix = "/32" if ":" not in dns.node_local_address else "/128"
        peers.append(Peer(cidr=dns.node_local_address + suffix))
    return EgressRule("dns", tuple(peers), (Port(53, "UDP"), Port(53, "TCP")))


def _egress(profile: AgentProfile, env: Environment) -> tuple[EgressRule, ...]:
    rules = [_dns_rule(env)]
    tracing = profile.runtime.tracing if profile.runtime else None
    if profile.kubernetes.rules:
        api = env.cluster.api_server
        rules.append(EgressRule("api-server", tuple(Peer(cidr=c) for c in api.cidrs), (Port(api.port, "TCP"),)))
    names = set(profile.egress)
    if tracing is not None and tracing.enabled and tracing.collector:
        names.add(tracing.collector)  # the collector is reachable only while tracing is on
    for name in sorted(names):
        dest = env.destinations[name]
        ports = tuple(Port(p.port, p.protocol) for p in dest.ports)
        if dest.cidrs:
            peers = tuple(Peer(cidr=c) for c in dest.cidrs)
        else:
            peers = (Peer(
                namespace_labels=tuple(sorted(dest.namespace_selector.match_labels.items())) if dest.namespace_selector else (),
                pod_labels=tuple(sorted(dest.pod_selector.match_labels.items())) if dest.pod_selector else (),
            ),)
        rules.append(EgressRule(f"destination {name}", peers, ports))
    return tuple(rules)


def _quota(profile: AgentProfile, env: Environment) -> tuple[Quota, LimitRangePlan]:
    res = profile.resources
    pods = res.max_pods
    req_cpu, lim_cpu = cpu_millicores(str(res.requests.cpu)), cpu_millicores(str(res.limits.cpu))
    req_mem, lim_mem = memory_bytes(str(res.requests.memory)), memory_bytes(str(res.limits.memory))
    hard = {
        "limits.cpu": format_cpu(lim_cpu * pods),
        "limits.memory": format_memory(lim_mem * pods),
        "pods": str(pods),
        "requests.cpu": format_cpu(req_cpu * pods),
        "requests.memory": format_memory(req_mem * pods),
        f"requests.{env.cluster.gpu_resource}": str(res.limits.gpu * pods),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    limits = LimitRangePlan(
        default=(("cpu", format_cpu(lim_cpu)), ("memory", format_memory(lim_mem))),
        default_request=(("cpu", format_cpu(req_cpu)), ("memory", format_memory(req_mem))),
        max=(("cpu", format_cpu(lim_cpu)), ("memory", format_memory(lim_mem))),
    )
    return Quota(tuple(sorted(hard.items()))), limits


def grants(profile: AgentProfile) -> dict[tuple, str]:
    """Every permission a profile grants, one key per verb, for comparison.

    RBAC keys are (where, api group, resource, resource names, verb); the value is the readable
    subject without the verb, so that grants can be regrouped by subject.
    """
    out: dict[tuple, str] = {}
    own = namespace_for(profile.name)
    for rule in profile.kubernetes.rules:
        where = "cluster-wide" if rule.scope == "cluster" else f"namespace {rule.namespace or own}"
        names = tuple(rule.resource_names)
        named = f" named {', '.join(names)}" if names else ""
        for group in rule.api_groups:
            for resource in rule.resources:
                for verb in rule.verbs:
                    subject = f"{group + '/' if group else ''}{resource}{named} ({where})"
                    out[("rbac", where, group, resource, names, verb)] = subject
    egress = set(profile.egress)
    if profile.runtime and profile.runtime.tracing.enabled and profile.runtime.tracing.collector:
        egress.add(profile.runtime.tracing.collector)
    for name in sorted(egress):
        out[("egress", name)] = f"egress to {name}"
    for caller in profile.callers:
        ns = ",".join(f"{k}={v}" for k, v in sorted(caller.namespace_selector.match_labels.items()))
        pods = ",".join(f"{k}={v}" for k, v in sorted(caller.pod_selector.match_labels.items())) if caller.pod_selector else "*"
        out[("caller", ns, pods)] = f"callers from namespace [{ns}] pods [{pods}]"
    if profile.runtime:
        for tool in profile.runtime.tools:
            out[("tool", tool)] = f"tool {tool}"
    for secret in profile.secrets:
        ref = secret.aws.arn if secret.aws else f"vault:{secret.vault.path}#{secret.vault.key}"  # type: ignore[union-attr]
        out[("secret", ref)] = f"secret {secret.name} ({ref})"
    for waiver in profile.exceptions:
        scope = f" for {waiver.destination}" if waiver.destination else ""
        out[("exception", waiver.name, waiver.waives, waiver.destination or "")] = \
            f"exception {waiver.name} waives {waiver.waives}{scope}"
    return out


def widening(profile: AgentProfile, base: AgentProfile | None) -> tuple[str, ...]:
    """What the environment's profile grants beyond its base: new grants and larger caps."""
    if base is None:
        return ()
    mine, theirs = grants(profile), grants(base)
    verbs_by_subject: dict[str, list[str]] = {}
    found: list[str] = []
    for key in sorted(k for k in mine if k not in theirs):
        if key[0] == "rbac":
            verbs_by_subject.setdefault(mine[key], []).append(key[-1])
        else:
            found.append(mine[key])
    found = [f"{', '.join(verbs)} {subject}" for subject, verbs in verbs_by_subject.items()] + found
    res, b = profile.resources, base.resources
    caps = (
        ("cpu limit", cpu_millicores(str(res.limits.cpu)), cpu_millicores(str(b.limits.cpu)), format_cpu),
        ("memory limit", memory_bytes(str(res.limits.memory)), memory_bytes(str(b.limits.memory)), format_memory),
        ("gpu limit", res.limits.gpu, b.limits.gpu, str),
        ("max pods", res.max_pods, b.max_pods, str),
        ("warm sandboxes", profile.runtime.warm_pool if profile.runtime else 0,
         base.runtime.warm_pool if base.runtime else 0, str),
        ("replicas", profile.runtime.replicas if profile.runtime else 0, base.runtime.replicas if base.runtime else 0, str),
    )
    for what, now, before, fmt in caps:
        if now > before:
            found.append(f"{what} {fmt(before)} -> {fmt(now)}")
    return tuple(found)


SPC_NAME = "agent-secrets"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def vault_name(env: str, agent: str) -> str:
    return f"blueprint-{env}-{agent}"


def plan_secrets(profile: AgentProfile, env: Environment) -> SecretsPlan | None:
    """The mount, identity and grant for an agent's secrets (None without secrets)."""
    backend = profile.secret_backend
    if backend is None:
        return None
    objects = tuple(
        SecretObject(s.name, s.mount_file, s.aws.arn if s.aws else s.vault.path,  # type: ignore[union-attr]
                     (s.aws.json_key if s.aws else s.vault.key), s.aws.kms_key_arn if s.aws else None)
        for s in profile.secrets
    )
    if backend == "aws":
        aws = env.secret_backends.aws
        assert aws is not None  # the loader checked the backend exists
        name = aws.role_name(env.name, profile.name)
        identity = AwsIdentityPlan(
            role_name=name, role_arn=f"arn:aws:iam::{aws.account_id}:role/{name}", mode=aws.identity,
            account_id=aws.account_id, region=aws.region, cluster=aws.eks_cluster,
            oidc_provider=aws.oidc_provider,
            # IAM's minimum for max_session_duration is also the shortest ceiling a role can have.
            max_session=aws.session_ceiling,
        )
        return SecretsPlan("aws", SPC_NAME, objects, aws=identity)
    vault = env.secret_backends.vault
    assert vault is not None
    ttl = min(profile.credential_ttl or vault.token_ttl_ceiling, vault.token_ttl_ceiling)
    name = vault_name(env.name, profile.name)
    identity_v = VaultIdentityPlan(role_name=name, policy_name=name, auth_mount=vault.kubernetes_auth_mount,
                                   audience=vault.audience, address=vault.address, token_ttl=ttl, token_max_ttl=ttl)
    return SecretsPlan("vault", SPC_NAME, objects, vault=identity_v)


RUNTIME_CONFIG_PATH = "/etc/agent"


def runtime_config(profile: AgentProfile, env: Environment) -> str:
    """The runtime configuration the agent reads (a ConfigMap): the tool whitelist, budgets, tracing."""
    runtime = profile.runtime
    assert runtime is not None
    tracing: dict[str, object] = {"enabled": runtime.tracing.enabled}
    if runtime.tracing.enabled:
        tracing.update(
            endpoint=runtime.tracing.endpoint,
            service_name=runtime.tracing.service_name or profile.name,
            resource_attributes={"service.name": runtime.tracing.service_name or profile.name,
                                 "agent.id": profile.name, "deployment.environment": env.name},
        )
    config = {
        "agent": profile.name,
        "tools": {"allowed": sorted(runtime.tools), "reject_others": True},
        "budgets": {"max_turns": runtime.budgets.max_turns, "max_cost_usd": runtime.budgets.max_cost_usd,
                    "max_input_chars": runtime.budgets.max_input_chars},
        "tracing": tracing,
    }
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def plan_workload(profile: AgentProfile, env: Environment) -> WorkloadPlan | None:
    runtime = profile.runtime
    if runtime is None or env.runtime is None:
        return None
    res = profile.resources
    limits = [("cpu", format_cpu(cpu_millicores(str(res.limits.cpu)))),
              ("memory", format_memory(memory_bytes(str(res.limits.memory))))]
    if res.limits.gpu:
        limits.append((env.cluster.gpu_resource, str(res.limits.gpu)))
    callers = tuple(
        Peer(namespace_labels=tuple(sorted(c.namespace_selector.match_labels.items())),
             pod_labels=tuple(sorted(c.pod_selector.match_labels.items())) if c.pod_selector else ())
        for c in profile.callers)
    return WorkloadPlan(
        image=runtime.image, port=runtime.port, health_path=runtime.health_path, replicas=runtime.replicas,
        run_as_user=env.runtime.run_as_user,
        # A token only for agents that call the Kubernetes API (the CSI driver gets its own).
        automount_token=bool(profile.kubernetes.rules),
        runtime_class=env.runtime.runtime_class_name,
        requests=(("cpu", format_cpu(cpu_millicores(str(res.requests.cpu)))),
                  ("memory", format_memory(memory_bytes(str(res.requests.memory))))),
        limits=tuple(limits), tmp_size_limit=format_memory(memory_bytes(str(runtime.tmp_size_limit))),
        grace_seconds=runtime.termination_grace_seconds, cleanup_command=tuple(runtime.cleanup_command),
        config_maps=tuple(ConfigMapVolume(c.name, c.config_map, c.mount_path) for c in runtime.config_maps),
        runtime_config=runtime_config(profile, env), isolation=runtime.isolation, warm_pool=runtime.warm_pool,
        callers=callers, entry_module=runtime.entry_module, lock_file=runtime.lock_file,
        base_image=env.runtime.base_image, base_is_placeholder=env.runtime.base_image_is_placeholder,
        health_port=runtime.port,
        session_broker=((env.runtime.session_broker.namespace, env.runtime.session_broker.service_account)
                        if runtime.isolation == "per-session" and env.runtime.session_broker else None),
    )


def pod_security_labels(env: Environment) -> tuple[tuple[str, str], ...]:
    """Pod Security admission at the restricted level, pinned to the cluster's version."""
    version = "v" + env.cluster.kubernetes_version
    return tuple(pair for mode in ("audit", "enforce", "warn") for pair in (
        (f"pod-security.kubernetes.io/{mode}", PSA_LEVEL), (f"pod-security.kubernetes.io/{mode}-version", version)))


def plan_agent(profile: AgentProfile, env: Environment, judgement: Judgement, source_file: str,
               base: AgentProfile | None = None) -> AgentPlan:
    namespace = namespace_for(profile.name)
    labels = (*MANAGED_BY.items(), ("blueprint.dev/agent", profile.name), ("blueprint.dev/environment", env.name))
    psa = pod_security_labels(env)
    quota, limit_range = _quota(profile, env)
    secrets = plan_secrets(profile, env)
    sa_annotations: tuple[tuple[str, str], ...] = ()
    if secrets is not None and secrets.aws is not None and secrets.aws.mode == "irsa":
        sa_annotations = ((IRSA_ANNOTATION, secrets.aws.role_arn),)
    applied = tuple(
        AppliedException(w.name, w.waives, w.reason, tuple(r.subject for r in hits))
        for w, hits in judgement.waived
    )
    return AgentPlan(
        name=profile.name,
        source_file=source_file,
        owner=profile.owner,
        description=profile.description,
        namespace=namespace,
        namespace_labels=tuple(sorted(labels + psa)),
        labels=tuple(sorted(labels)),
        service_account=profile.name,
        roles=_roles(profile),
        egress=_egress(profile, env),
        quota=quota,
        limit_range=limit_range,
        exceptions=applied,
        widening=widening(profile, base),
        secrets=secrets,
        service_account_annotations=sa_annotations,
        workload=plan_workload(profile, env),
    )


# Pinned chart versions (see modules/secrets-store-csi/README.md for the evidence) and the labels
# those charts put on the provider pods, which the platform root's egress policies select.
DRIVER_CHART = "1.6.1"
VAULT_CHART = "0.34.1"
AWS_CHART = "3.2.0"
PROVIDER_POD_LABELS = {
    "vault": (("app.kubernetes.io/instance", "vault"), ("app.kubernetes.io/name", "vault-csi-provider")),
    "aws": (("app.kubernetes.io/instance", "secrets-store-csi-driver-provider-aws"),
            ("app.kubernetes.io/name", "secrets-store-csi-driver-provider-aws")),
}
POD_IDENTITY_AGENT = "169.254.170.23/32"  # the EKS Pod Identity Agent on every node, port 80


SANDBOX_NAMESPACE = "agent-sandbox-system"  # the release's own namespace: its RBAC subjects name it
SANDBOX_CONTROLLER_UID = 65532  # the nonroot user of the distroless base the controller image uses
SANDBOX_WEBHOOK_PORT = 9443


def plan_sandbox_controller(env: Environment, agents: list[AgentPlan]) -> SandboxControllerPlan | None:
    if not any(a.workload is not None and a.workload.isolation == "per-session" for a in agents):
        return None
    assert env.runtime is not None and env.runtime.sandbox_controller is not None  # the loader checked
    controller = env.runtime.sandbox_controller
    api = env.cluster.api_server
    api_peers = tuple(Peer(cidr=c) for c in api.cidrs)
    labels = (*MANAGED_BY.items(), ("blueprint.dev/environment", env.name))
    return SandboxControllerPlan(
        namespace=SANDBOX_NAMESPACE, labels=tuple(sorted(labels)),
        namespace_labels=tuple(sorted(labels + pod_security_labels(env))), release=controller.release, release_base_url=controller.release_base_url,
        assets=tuple((a.file, a.sha256) for a in controller.assets),
        checksums_are_placeholders=controller.checksums_are_placeholders,
        image=controller.image, image_is_placeholder=controller.image_is_placeholder,
        run_as_user=SANDBOX_CONTROLLER_UID,
        egress=(_dns_rule(env), EgressRule("api-server", api_peers, (Port(api.port, "TCP"),))),
        webhook=EgressRule("api-server-webhook-calls", api_peers, (Port(SANDBOX_WEBHOOK_PORT, "TCP"),)),
        # One controller replica plus a rollout surge; the release sets no resources, so the
        # LimitRange defaults are what the controller gets.
        quota=Quota(tuple(sorted({"limits.cpu": "2", "limits.memory": "2Gi", "pods": "4", "requests.cpu": "1",
                                  "requests.memory": "1Gi", "services.loadbalancers": "0",
                                  "services.nodeports": "0"}.items()))),
        limit_range=LimitRangePlan(default=(("cpu", "500m"), ("memory", "512Mi")),
                                   default_request=(("cpu", "100m"), ("memory", "128Mi")),
                                   max=(("cpu", "1"), ("memory", "1Gi"))),
    )


def plan_csi(env: Environment, agents: list[AgentPlan]) -> CsiPlan | None:
    used = {a.secrets.backend for a in agents if a.secrets is not None}
    if not used:
        return None
    api = env.cluster.api_server
    common = (_dns_rule(env), EgressRule("api-server", tuple(Peer(cidr=c) for c in api.cidrs), (Port(api.port, "TCP"),)))
    egress = []
    vault = env.secret_backends.vault if "vault" in used else None
    aws = env.secret_backends.aws if "aws" in used else None
    if vault is not None:
        egress.append(ProviderPodEgress("vault", PROVIDER_POD_LABELS["vault"], common + (
            EgressRule("vault", tuple(Peer(cidr=c) for c in vault.cidrs), (Port(vault.port, "TCP"),)),)))
    if aws is not None:
        rules = common + (EgressRule("aws-endpoints", tuple(Peer(cidr=c) for c in aws.endpoint_cidrs),
                                     (Port(443, "TCP"),)),)
        if aws.identity == "pod-identity":
            rules += (EgressRule("pod-identity-agent", (Peer(cidr=POD_IDENTITY_AGENT),), (Port(80, "TCP"),)),)
        egress.append(ProviderPodEgress("aws", PROVIDER_POD_LABELS["aws"], rules))
    return CsiPlan(
        namespace="kube-system", driver_chart=DRIVER_CHART, rotation_poll_interval="2m",
        token_expiration_seconds=600,
        vault_chart=VAULT_CHART if vault else None, vault_address=vault.address if vault else None,
        vault_audience=vault.audience if vault else None,
        aws_chart=AWS_CHART if aws else None, aws_region=aws.region if aws else None,
        aws_identity=aws.identity if aws else None, egress=tuple(egress),
    )


def plan_environment(env: Environment, source_file: str, agents: list[AgentPlan]) -> EnvironmentPlan:
    state = env.state
    if state.type == "s3":
        backend = Backend("s3", (
            ("bucket", state.bucket),
            ("encrypt", True),
            ("key", f"{state.key_prefix}/{env.name}/{{stage}}.tfstate"),
            ("region", state.region),
            ("use_lockfile", state.use_lockfile),
        ))
    else:
        backend = Backend("local", (("path", f"{state.directory}/{env.name}/{{stage}}.tfstate"),))
    kube = env.cluster.kubeconfig
    provider = ProviderPlan(env.cluster.api_server.endpoint, kube.path, kube.context)
    return EnvironmentPlan(
        env=env.name,
        source_file=source_file,
        kubernetes_version=env.cluster.kubernetes_version,
        provider=provider,
        backend=backend,
        agents=tuple(sorted(agents, key=lambda a: a.name)),
        aws=AwsProviderPlan(aws.region, aws.account_id) if (aws := env.secret_backends.aws) else None,
        vault_address=env.secret_backends.vault.address if env.secret_backends.vault else None,
        csi=plan_csi(env, agents),
        sandbox_controller=plan_sandbox_controller(env, agents),
    )
