"""Object names validated as the API server does (apimachinery's validation of ObjectMeta.name)."""

from __future__ import annotations

import re

from qco.sandbox.kube.resources import ResourceType

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + ")*"
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN}')"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL}')"
)
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    f"regex used for validation is '{_DNS1035}')"
)
# Kinds whose names are path segments only (RBAC names like `system:controller:x`).
_PATH_SEGMENT_GROUPS = {"rbac.authorization.k8s.io"}
# Kinds whose names are DNS labels (max 63) rather than subdomains (max 253).
_LABEL_KINDS = {("", "namespaces")}
_DNS1035_KINDS = {("", "services")}


def _path_segment_problems(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def name_problems(rt: ResourceType, name: str) -> list[str]:
    """What is wrong with `name` for this resource (empty when it is valid), in the API server's words."""
    if rt.group in _PATH_SEGMENT_GROUPS:
        return _path_segment_problems(name)
    if rt.storage_key in _DNS1035_KINDS:
        pattern, limit, message = _DNS1035, 63, _DNS1035_MESSAGE
    elif rt.storage_key in _LABEL_KINDS:
        pattern, limit, message = _LABEL, 63, _LABEL_MESSAGE
    else:
        pattern, limit, message = _SUBDOMAIN, 253, _SUBDOMAIN_MESSAGE
    problems = []
    if len(name) > limit:
        problems.append(f"must be no more than {limit} characters")
    if not re.fullmatch(pattern, name, flags=re.ASCII):
        problems.append(message)
    return problems


def invalid_name_causes(rt: ResourceType, name: str) -> list[dict[str, str]]:
    """422 causes for an invalid name: one `metadata.name: Invalid value: "..."` per problem."""
    return [
        {
            "reason": "FieldValueInvalid",
            "message": f"Invalid value: {_go_quote(name)}: {problem}",
            "field": "metadata.name",
        }
        for problem in name_problems(rt, name)
    ]


def _go_quote(text: str) -> str:
    # Go's %q: printable unicode stays as is, quotes and backslashes are escaped.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
