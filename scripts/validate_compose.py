#!/usr/bin/env python3
"""Validate docker-compose.yml without a Docker engine.

Run through ``scripts/check-compose`` (which picks the interpreter), or directly:

    python scripts/validate_compose.py [COMPOSE_FILE ...]

Two layers of checks:

1. Structure: the file (after YAML anchors/merge keys are resolved and
   ``${VAR:-default}`` interpolation is applied) is validated against the
   official Compose Specification JSON schema, committed verbatim as
   ``scripts/compose-spec.json``. Source: GitHub repository
   ``compose-spec/compose-spec``, path ``schema/compose-spec.json``, commit
   ``00655e2222608fa6eaecdf12ac5195889ca2244a`` (sha256 below). To update it,
   replace the file with a newer copy of that path and update SCHEMA_SHA256.

2. Semantics the schema cannot express: duplicate keys, references to
   undefined services/volumes/networks/secrets/configs, dependency cycles,
   ``service_healthy`` on services without a healthcheck, and the Lailiao
   conventions (web/worker/beat built from the one ``x-app`` anchor, their
   dependencies on postgres/redis gated by ``service_healthy``, the two
   database roles: postgres creates an owner and an application role at init
   (LAILIAO_DB_OWNER / LAILIAO_DB_APP and the init script mounted into
   /docker-entrypoint-initdb.d), the one-shot ``migrate`` connects as the owner,
   web/worker/beat as the application role (never the superuser) and start
   only after ``migrate`` completed successfully, ...).

Exit status: 0 valid, 1 invalid, 2 usage/environment problem.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("check-compose: PyYAML is not installed for %s (pip install pyyaml)\n" % sys.executable)
    sys.exit(2)
try:
    import jsonschema
    from jsonschema.exceptions import best_match
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("check-compose: jsonschema is not installed for %s (pip install jsonschema)\n" % sys.executable)
    sys.exit(2)


SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parent
SCHEMA_PATH = SCRIPT_DIR / "compose-spec.json"
SCHEMA_SOURCE = "compose-spec/compose-spec@00655e2222608fa6eaecdf12ac5195889ca2244a:schema/compose-spec.json"
SCHEMA_SHA256 = "bc50c2d79102aed8df21b3a13e56c9396c7a06da6cff5ce37629f2ee7eb41735"

# Lailiao conventions.
ANCHOR_KEY = "x-app"
APP_SERVICES = ("web", "worker", "beat")  # must reuse the x-app definition
INFRA_HEALTHY = ("postgres", "redis")  # app deps on these must be service_healthy
MIGRATE_SERVICE = "migrate"  # one-shot job: migrations as the owner role, before the app starts
REQUIRED_SERVICES = ("postgres", "redis", MIGRATE_SERVICE) + APP_SERVICES
# The postgres service creates both roles at init (backend/core/db_roles.py, deploy/postgres/).
ROLE_VARS = {"owner": ("LAILIAO_DB_OWNER", "LAILIAO_DB_OWNER_PASSWORD"),
             "app": ("LAILIAO_DB_APP", "LAILIAO_DB_APP_PASSWORD")}
INITDB_DIR = "/docker-entrypoint-initdb.d"
INITDB_SCRIPTS = ("10-lailiao-roles.sh", "lailiao-roles.psql")
SETTINGS_MODULE = "config.settings.production"
HEALTH_PATH = "/healthz"
PROXY_SERVICE = "proxy"  # nginx: the only published port; web trusts its one X-Forwarded-For hop
PROXY_CONF = "deploy/nginx/lailiao.conf"


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, where: str, msg: str) -> None:
        self.errors.append("%s: %s" % (where, msg) if where else msg)

    def warn(self, where: str, msg: str) -> None:
        self.warnings.append("%s: %s" % (where, msg) if where else msg)


# --------------------------------------------------------------------------
# YAML loading (duplicate keys are an error in Compose, PyYAML ignores them)
# --------------------------------------------------------------------------
class StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        "found duplicate key %r (first at line %d)" % (key, seen[key].line + 1),
                        key_node.start_mark)
                seen[key] = key_node.start_mark
            except TypeError:
                pass  # unhashable key; let PyYAML report it
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path):
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=StrictLoader)
    data = yaml.load(text, Loader=StrictLoader)
    return node, data


def mapping_get(node, key):
    """Value node for `key` in a MappingNode (explicit keys only)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and k.tag != "tag:yaml.org,2002:merge":
            return v
    return None


def merge_sources(node):
    """Nodes merged into a MappingNode through `<<:` (before flattening)."""
    out = []
    if not isinstance(node, yaml.MappingNode):
        return out
    for k, v in node.value:
        if k.tag == "tag:yaml.org,2002:merge":
            out.extend(v.value if isinstance(v, yaml.SequenceNode) else [v])
    return out


# --------------------------------------------------------------------------
# Interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$)
# --------------------------------------------------------------------------
_INTERP = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<braced>[^}]*)\}|(?P<invalid>))"
)
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


def interpolate(value, env, where, report):
    if isinstance(value, dict):
        return {k: interpolate(v, env, "%s.%s" % (where, k) if where else str(k), report)
                for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, "%s[%d]" % (where, i), report) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m):
        if m.group("escaped"):
            return "$"
        if m.group("named") is not None:
            name = m.group("named")
            if name not in env:
                report.warn(where, "variable $%s is not set; it would default to an empty string" % name)
            return env.get(name, "")
        if m.group("braced") is not None:
            b = _BRACED.match(m.group("braced"))
            if not b:
                report.error(where, "invalid interpolation format ${%s}" % m.group("braced"))
                return ""
            name, op, arg = b.group("name"), b.group("op"), b.group("arg") or ""
            is_set, val = name in env, env.get(name)
            if op is None:
                if not is_set:
                    report.warn(where, "variable ${%s} has no default and is not set; it would be empty" % name)
                return val or ""
            if op == ":-":
                return val if val else arg
            if op == "-":
                return val if is_set else arg
            if op in (":?", "?"):
                if (op == ":?" and not val) or (op == "?" and not is_set):
                    report.warn(where, "required variable ${%s} must be set at deploy time (%s)" % (name, arg))
                return val or ""
            if op == ":+":
                return arg if val else ""
            if op == "+":
                return arg if is_set else ""
        report.error(where, "invalid interpolation: a lone '$' must be written '$$'")
        return m.group(0)

    return _INTERP.sub(repl, value)


# --------------------------------------------------------------------------
# Schema validation
# --------------------------------------------------------------------------
def fmt_path(path) -> str:
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(top level)"


def explain(err) -> str:
    if err.validator in ("oneOf", "anyOf") and err.context:
        sub = best_match(err.context)
        return "%s (closest match: %s at %s)" % (
            err.message if len(err.message) < 120 else "value matches none of the allowed forms",
            sub.message, fmt_path(sub.absolute_path))
    msg = err.message
    if err.validator == "type" and isinstance(err.instance, bool) and "string" in str(err.validator_value):
        msg += " (YAML reads unquoted yes/no/on/off/true/false as booleans; quote the value)"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list((err.schema.get("properties") or {}).keys())
        extra = [k for k in err.instance if k not in allowed
                 and not any(re.search(p, k) for p in (err.schema.get("patternProperties") or {}))]
        hints = []
        for k in extra:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            if close:
                hints.append("%r -> did you mean %r?" % (k, close[0]))
        if hints:
            msg += " [" + "; ".join(hints) + "]"
    return msg


def schema_check(doc, schema, report):
    validator = jsonschema.Draft7Validator(schema)
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        report.error("schema " + fmt_path(err.absolute_path), explain(err))


# --------------------------------------------------------------------------
# Semantic checks
# --------------------------------------------------------------------------
def env_dict(environment):
    if isinstance(environment, dict):
        return {str(k): ("" if v is None else str(v)) for k, v in environment.items()}
    out = {}
    for item in environment or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def depends_map(dep):
    if isinstance(dep, list):
        return {str(name): {"condition": "service_started"} for name in dep}
    if isinstance(dep, dict):
        return {str(k): (v or {}) for k, v in dep.items()}
    return {}


def has_healthcheck(svc) -> bool:
    hc = svc.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable") in (True, "true"):
        return False
    test = hc.get("test")
    return bool(test) and not (isinstance(test, list) and test[:1] == ["NONE"])


def command_words(cmd):
    if isinstance(cmd, list):
        return [str(c) for c in cmd]
    if isinstance(cmd, str):
        return cmd.split()
    return []


def semantic_check(doc, root_node, base_dir: Path, report):
    services = doc.get("services")
    if not isinstance(services, dict) or not services:
        report.error("services", "no services defined")
        return
    if "version" in doc:
        report.error("version", "obsolete top-level `version:` key; the Compose Specification ignores it, remove it")

    volumes = doc.get("volumes") or {}
    networks = doc.get("networks") or {}
    secrets = doc.get("secrets") or {}
    configs = doc.get("configs") or {}

    # Every declared service name, and references between services.
    for name in REQUIRED_SERVICES:
        if name not in services:
            close = difflib.get_close_matches(name, list(services), n=1)
            report.error("services", "required service %r is missing%s" % (
                name, " (did you mean %r?)" % close[0] if close else ""))

    graph = {}
    for sname, svc in services.items():
        where = "services.%s" % sname
        if not isinstance(svc, dict):
            continue
        if "image" not in svc and "build" not in svc:
            report.error(where, "needs `image` or `build`")
        deps = depends_map(svc.get("depends_on"))
        graph[sname] = list(deps)
        for dep, spec in deps.items():
            dwhere = "%s.depends_on.%s" % (where, dep)
            if dep not in services:
                close = difflib.get_close_matches(dep, list(services), n=1)
                report.error(dwhere, "depends on undefined service %r%s" % (
                    dep, " (did you mean %r?)" % close[0] if close else ""))
                continue
            if dep == sname:
                report.error(dwhere, "service depends on itself")
            cond = spec.get("condition", "service_started")
            target = services.get(dep) or {}
            if dep in INFRA_HEALTHY and cond != "service_healthy":
                report.error(dwhere, "must use `condition: service_healthy` (found %r)" % cond)
            if cond == "service_healthy" and not has_healthcheck(target):
                report.error(dwhere, "condition service_healthy but service %r has no healthcheck" % dep)
            if cond == "service_completed_successfully" and str(target.get("restart", "no")) in ("always", "unless-stopped"):
                report.error(dwhere, "waits for %r to complete, but %r has restart: %s so it never settles"
                             % (dep, dep, target.get("restart")))
        for key in ("links", "volumes_from"):
            for ref in svc.get(key) or []:
                ref_name = str(ref).split(":")[0]
                if key == "volumes_from" and ref_name == "container":
                    continue
                if ref_name not in services:
                    report.error("%s.%s" % (where, key), "references undefined service %r" % ref_name)
        for key in ("network_mode", "ipc", "pid"):
            val = svc.get(key)
            if isinstance(val, str) and val.startswith("service:") and val[8:] not in services:
                report.error("%s.%s" % (where, key), "references undefined service %r" % val[8:])
        extends = svc.get("extends")
        if isinstance(extends, str):
            extends = {"service": extends}
        if isinstance(extends, dict) and "file" not in extends and extends.get("service") not in services:
            report.error("%s.extends" % where, "references undefined service %r" % extends.get("service"))

        # Named volumes / networks / secrets / configs must be declared.
        for i, vol in enumerate(svc.get("volumes") or []):
            src, vtype = None, "volume"
            if isinstance(vol, str):
                parts = vol.split(":")
                if len(parts) >= 2:
                    src = parts[0]
                    vtype = "bind" if src.startswith((".", "/", "~", "$")) or "/" in src else "volume"
            elif isinstance(vol, dict):
                src, vtype = vol.get("source"), vol.get("type")
            if vtype == "volume" and src and src not in volumes:
                report.error("%s.volumes[%d]" % (where, i), "named volume %r is not declared under top-level `volumes:`" % src)
        svc_nets = svc.get("networks") or []
        for net in (svc_nets if isinstance(svc_nets, list) else list(svc_nets)):
            if net != "default" and net not in networks:
                report.error("%s.networks" % where, "network %r is not declared under top-level `networks:`" % net)
        for key, pool in (("secrets", secrets), ("configs", configs)):
            for ref in svc.get(key) or []:
                ref_name = ref.get("source") if isinstance(ref, dict) else ref
                if ref_name not in pool:
                    report.error("%s.%s" % (where, key), "%r is not declared under top-level `%s:`" % (ref_name, key))

        # Build context must exist (relative to the compose file's directory).
        build = svc.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if isinstance(build, dict):
            ctx = build.get("context", ".")
            if "://" not in ctx and not ctx.startswith("git@"):
                ctx_dir = (base_dir / ctx).resolve()
                dockerfile = build.get("dockerfile", "Dockerfile")
                if not ctx_dir.is_dir():
                    report.error("%s.build.context" % where, "directory %s does not exist" % ctx_dir)
                elif "dockerfile_inline" not in build and not (ctx_dir / dockerfile).is_file():
                    report.error("%s.build.dockerfile" % where, "%s not found in %s" % (dockerfile, ctx_dir))

    # Dependency cycles.
    state = {}

    def visit(n, stack):
        state[n] = 1
        for d in graph.get(n, []):
            if d not in graph:
                continue
            if state.get(d) == 1:
                report.error("services", "dependency cycle: %s" % " -> ".join(stack + [n, d]))
            elif d not in state:
                visit(d, stack + [n])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])

    check_app_conventions(doc, root_node, services, report, base_dir)
    check_database_roles(services, base_dir, report)


def check_app_conventions(doc, root_node, services, report, base_dir: Path = REPO_ROOT):
    anchor = doc.get(ANCHOR_KEY)
    anchor_node = mapping_get(root_node, ANCHOR_KEY)
    if not isinstance(anchor, dict) or anchor_node is None:
        report.error(ANCHOR_KEY, "missing top-level `%s: &app` shared service definition" % ANCHOR_KEY)
        return
    if "build" not in anchor:
        report.error(ANCHOR_KEY, "the shared definition must define `build`")
    services_node = mapping_get(root_node, "services")

    app_names = []
    for sname in services:
        snode = mapping_get(services_node, sname)
        if any(src is anchor_node for src in merge_sources(snode)):
            app_names.append(sname)
    for required in APP_SERVICES:
        if required in services and required not in app_names:
            report.error("services.%s" % required, "must reuse the shared definition via `<<: *app` (anchor `%s`)" % ANCHOR_KEY)

    for sname in app_names:
        svc, where = services[sname], "services.%s" % sname
        for key in ("build", "image"):
            if svc.get(key) != anchor.get(key):
                report.error("%s.%s" % (where, key), "overrides the %s from `%s`; app services must share one image" % (key, ANCHOR_KEY))
        env = env_dict(svc.get("environment"))
        if env.get("DJANGO_SETTINGS_MODULE") != SETTINGS_MODULE:
            report.error("%s.environment" % where, "DJANGO_SETTINGS_MODULE must be %s (found %r)"
                         % (SETTINGS_MODULE, env.get("DJANGO_SETTINGS_MODULE")))
        for var in ("DATABASE_URL", "REDIS_URL"):
            if not env.get(var):
                report.error("%s.environment" % where, "%s is not set" % var)
        check_urls(where, env, services, report, role="owner" if sname == MIGRATE_SERVICE else "app")
        deps = depends_map(svc.get("depends_on"))
        for infra in INFRA_HEALTHY:
            # A wrong condition is already reported by semantic_check.
            if infra in services and infra not in deps:
                report.error("%s.depends_on" % where, "must depend on %s with condition: service_healthy" % infra)

    web = services.get("web") or {}
    if web:
        hc = web.get("healthcheck")
        test = " ".join(command_words(hc.get("test"))) if isinstance(hc, dict) else ""
        if not has_healthcheck(web) or HEALTH_PATH not in test:
            report.error("services.web.healthcheck", "web needs an HTTP healthcheck on %s" % HEALTH_PATH)
        check_proxy(web, services, base_dir, report)
    for sname, word in (("worker", "worker"), ("beat", "beat")):
        words = command_words((services.get(sname) or {}).get("command"))
        if sname in services and not ("celery" in words and word in words):
            report.error("services.%s.command" % sname, "expected a `celery -A config.celery_app %s` command" % word)


def check_proxy(web, services, base_dir: Path, report):
    """Clients reach web only through the proxy, which appends their address to X-Forwarded-For;
    web trusts exactly the hops in front of it (TRUSTED_PROXY_COUNT), so it must publish no port
    of its own (a client talking to web directly could forge its address)."""
    proxy = services.get(PROXY_SERVICE)
    if not proxy:
        report.error("services", "missing the `%s` service in front of web" % PROXY_SERVICE)
        return
    if not proxy.get("ports"):
        report.error("services.%s.ports" % PROXY_SERVICE, "the proxy must publish the port clients use")
    if web.get("ports"):
        report.error("services.web.ports", "web must not publish a port: clients go through the %s "
                     "(else they can forge X-Forwarded-For)" % PROXY_SERVICE)
    ports = [str(p.get("target") if isinstance(p, dict) else p) for p in web.get("expose") or []]
    if "8000" not in ports:
        report.error("services.web.expose", "web must expose container port 8000 to the proxy")
    count = env_dict(web.get("environment")).get("TRUSTED_PROXY_COUNT")
    if str(count) != "1":
        report.error("services.web.environment", "TRUSTED_PROXY_COUNT must be 1 (one proxy), found %r" % count)
    conf = None
    for volume in proxy.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
        if source and str(source).endswith(".conf"):
            conf = (base_dir / source).resolve()
    if conf is None or not conf.is_file():
        report.error("services.%s.volumes" % PROXY_SERVICE, "mount the nginx config (%s)" % PROXY_CONF)
        return
    text = conf.read_text(encoding="utf-8")
    for needle in ("proxy_pass http://", "$proxy_add_x_forwarded_for", "Upgrade $http_upgrade"):
        if needle not in text:
            report.error("services.%s.volumes" % PROXY_SERVICE, "%s must contain %r" % (conf.name, needle))


def check_urls(where, env, services, report, role="app"):
    """DATABASE_URL names the postgres service's `role` (owner or app): its user and password as
    the service creates them (ROLE_VARS), never the superuser."""
    db = env.get("DATABASE_URL")
    if db:
        u = urlsplit(db)
        if u.scheme not in ("postgres", "postgresql", "pgsql"):
            report.error(where, "DATABASE_URL scheme %r is not postgres" % u.scheme)
        elif u.hostname not in services:
            report.error(where, "DATABASE_URL host %r is not a service in this file" % u.hostname)
        else:
            pg_env = env_dict((services[u.hostname] or {}).get("environment"))
            superuser = pg_env.get("POSTGRES_USER", "postgres")
            user_var, password_var = ROLE_VARS[role]
            expected = {"user": pg_env.get(user_var), "password": pg_env.get(password_var),
                        "database": pg_env.get("POSTGRES_DB", superuser), "port": 5432}
            actual = {"user": u.username, "password": u.password,
                      "database": u.path.lstrip("/"), "port": u.port or 5432}
            if u.username == superuser:
                report.error(where, "DATABASE_URL connects as the superuser %r; use the %s role (%s)"
                             % (superuser, role, user_var))
            for key in expected:
                if expected[key] != actual[key]:
                    report.error(where, "DATABASE_URL %s %r does not match the %s role of the %s service (%r)"
                                 % (key, actual[key], role, u.hostname, expected[key]))
    redis_url = env.get("REDIS_URL")
    if redis_url:
        u = urlsplit(redis_url)
        if u.scheme not in ("redis", "rediss"):
            report.error(where, "REDIS_URL scheme %r is not redis" % u.scheme)
        elif u.hostname not in services:
            report.error(where, "REDIS_URL host %r is not a service in this file" % u.hostname)


def check_database_roles(services, base_dir: Path, report):
    """postgres creates the owner and application roles at init; migrate runs migrations as the
    owner and settles; web/worker/beat wait for it to complete successfully."""
    pg = services.get("postgres")
    if isinstance(pg, dict):
        where = "services.postgres"
        env = env_dict(pg.get("environment"))
        superuser = env.get("POSTGRES_USER", "postgres")
        names = {}
        for role, (user_var, password_var) in ROLE_VARS.items():
            names[role] = env.get(user_var)
            if not env.get(user_var) or not env.get(password_var):
                report.error("%s.environment" % where, "%s and %s must be set (the %s role the init script creates)"
                             % (user_var, password_var, role))
            elif env[user_var] == superuser:
                report.error("%s.environment" % where, "%s must not be the superuser %r" % (user_var, superuser))
        if names["owner"] and names["owner"] == names["app"]:
            report.error("%s.environment" % where, "the owner and the application role must be two roles")
        mounted = False
        for vol in pg.get("volumes") or []:
            if isinstance(vol, str):
                parts = vol.split(":")
                source, target = (parts[0], parts[1]) if len(parts) >= 2 else (None, parts[0])
            elif isinstance(vol, dict):
                source, target = vol.get("source"), vol.get("target")
            else:
                continue
            if source and target and str(target).rstrip("/") == INITDB_DIR:
                mounted = True
                folder = (base_dir / source).resolve()
                for name in INITDB_SCRIPTS:
                    if not (folder / name).is_file():
                        report.error("%s.volumes" % where, "%s is mounted at %s but has no %s"
                                     % (source, INITDB_DIR, name))
        if not mounted:
            report.error("%s.volumes" % where, "mount the roles init script folder (deploy/postgres) at %s"
                         % INITDB_DIR)

    migrate = services.get(MIGRATE_SERVICE)
    if isinstance(migrate, dict):
        where = "services.%s" % MIGRATE_SERVICE
        words = " ".join(command_words(migrate.get("command")))
        if "manage.py migrate" not in words:
            report.error("%s.command" % where, "expected a `python manage.py migrate` command")
        if str(migrate.get("restart", "no")) != "no":
            report.error("%s.restart" % where, "a one-shot job needs restart: \"no\" (found %r)" % migrate.get("restart"))
    for sname in APP_SERVICES:
        svc = services.get(sname)
        if not isinstance(svc, dict) or MIGRATE_SERVICE not in services:
            continue
        cond = depends_map(svc.get("depends_on")).get(MIGRATE_SERVICE, {}).get("condition")
        if cond != "service_completed_successfully":
            report.error("services.%s.depends_on" % sname, "must depend on %s with condition: "
                         "service_completed_successfully (found %r)" % (MIGRATE_SERVICE, cond))


# --------------------------------------------------------------------------
def validate(path: Path, schema):
    report = Report()
    try:
        root_node, raw = load_yaml(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        report.error(where, "invalid YAML: %s%s" % (problem, " (%s)" % context if context else ""))
        return report, None
    if not isinstance(raw, dict):
        report.error("(top level)", "a Compose file must be a mapping")
        return report, None
    # Validate deterministically: only defaults and explicitly set variables
    # from CHECK_COMPOSE_ENV_FILE (if given), never the caller's environment.
    env = {}
    env_file = os.environ.get("CHECK_COMPOSE_ENV_FILE")
    if env_file:
        for line in Path(env_file).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, _, v = line.partition("=")
                env[k.strip()] = v.strip().strip("'\"")
    doc = interpolate(raw, env, "", report)
    schema_check(doc, schema, report)
    try:
        semantic_check(doc, root_node, path.resolve().parent, report)
    except (AttributeError, TypeError, KeyError, ValueError):
        if not report.errors:
            raise
        # Malformed shapes were already reported by the schema check.
        report.warn("semantic", "some semantic checks were skipped because of the schema errors")
    return report, doc


def main(argv) -> int:
    files = [Path(a) for a in argv] or [REPO_ROOT / "docker-compose.yml"]
    try:
        schema_text = SCHEMA_PATH.read_bytes()
    except OSError as exc:
        sys.stderr.write("check-compose: cannot read schema %s: %s\n" % (SCHEMA_PATH, exc))
        return 2
    digest = hashlib.sha256(schema_text).hexdigest()
    schema = json.loads(schema_text)
    jsonschema.Draft7Validator.check_schema(schema)

    status = 0
    for path in files:
        if not path.is_file():
            sys.stderr.write("check-compose: %s: no such file\n" % path)
            status = max(status, 2)
            continue
        report, doc = validate(path, schema)
        if digest != SCHEMA_SHA256:
            report.warn("schema", "%s differs from the recorded %s (sha256 %s); update SCHEMA_SHA256 if intended"
                        % (SCHEMA_PATH.name, SCHEMA_SOURCE, digest[:12]))
        for w in report.warnings:
            print("check-compose: %s: warning: %s" % (path, w), file=sys.stderr)
        if report.errors:
            for e in report.errors:
                print("check-compose: %s: error: %s" % (path, e), file=sys.stderr)
            print("check-compose: %s: INVALID (%d error(s))" % (path, len(report.errors)), file=sys.stderr)
            status = max(status, 1)
        else:
            nserv = len(doc.get("services") or {})
            print("check-compose: %s: OK (%d services; Compose Specification schema %s + semantic checks)"
                  % (path, nserv, SCHEMA_SOURCE.split(":")[0]))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
