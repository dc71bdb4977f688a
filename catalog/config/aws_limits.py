"""Facts about AWS services that the configuration is validated against (not our choices)."""

from __future__ import annotations

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)

# Maximum size of an HTTP request payload by instance type, from AWS's "Network quotas"
# table (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html
# #network-limits): 10 MiB for these types; 100 MiB for every other size of the families
# below; types the table does not list (r7g, c7g, m7g, t3.large, ...) get the smaller limit.
MIB = 1024 * 1024
PAYLOAD_10_MIB = frozenset({
    "t2.micro", "t2.small", "t2.medium", "t3.small", "t3.medium", "m3.medium", "m3.large", "m4.large", "m5.large",
    "m6g.large", "c4.large", "c5.large", "c6g.large", "r3.large", "or1.medium", "om2.large",
})
PAYLOAD_100_MIB_FAMILIES = frozenset({
    "m3", "m4", "m5", "m6g", "c4", "c5", "c6g", "r3", "r4", "r5", "r6g", "r6gd", "i2", "i3", "or1", "or2", "om2",
    "im4gn", "i4i", "i4g", "i8g", "i7i", "c7i", "m7i", "r7i", "c8g", "m8g", "r8g", "r8gd", "oi2",
})


def http_payload_limit(instance_type: str) -> int:
    """The largest HTTP request body (bytes) a domain of ``instance_type`` accepts."""
    name = instance_type.removesuffix(".search")
    if name not in PAYLOAD_10_MIB and name.split(".")[0] in PAYLOAD_100_MIB_FAMILIES:
        return 100 * MIB
    return 10 * MIB
